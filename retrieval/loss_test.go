package retrieval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type lossCase struct {
	name string
	cfg  Config
	loss Loss
}

func lossCases() []lossCase {
	var out []lossCase
	for _, fr := range []struct {
		name string
		f    Framing
		p    PadMode
	}{{"center-reflect", Center, Reflect}, {"center-zero", Center, Zero}, {"full", Full, Zero}} {
		for _, l := range []struct {
			name string
			loss Loss
		}{{"mse", Loss{}}, {"compress0.5", Loss{Compress: 0.5}}, {"compress0.3", Loss{Compress: 0.3, Eps: 1e-3}}} {
			out = append(out,
				lossCase{fr.name + "/" + l.name + "/hann32", Config{NFFT: 32, Hop: 8, Framing: fr.f, Pad: fr.p}, l.loss},
				lossCase{fr.name + "/" + l.name + "/hamming64-win48-hop20", Config{NFFT: 64, WinLength: 48, Hop: 20, Window: Hamming, Framing: fr.f, Pad: fr.p}, l.loss},
			)
		}
	}
	return out
}

// newRandomProblem returns a Problem whose target is the |STFT| of one random signal, and another
// random signal to evaluate it at.
func newRandomProblem(t *testing.T, rng *rand.Rand, cfg Config, loss Loss, length int) (*Problem, []float64) {
	t.Helper()
	s := mustSTFT(t, cfg, length)
	mag := s.Magnitude(nil, randSignal(rng, length))
	p, err := NewProblem(s, mag, loss)
	if err != nil {
		t.Fatal(err)
	}
	return p, randSignal(rng, length)
}

// fdDerivative is the fourth-order central difference of F at x along v (scratch xp):
// (−F(x+2hv) + 8F(x+hv) − 8F(x−hv) + F(x−2hv)) / 12h, with error O(h⁴); h = 1e-5/‖v‖ so that
// the step stays well inside the smoothing scale ε of the compressed loss.
func fdDerivative(p objective, x, v, xp []float64) float64 {
	nv := 0.0
	for _, e := range v {
		nv += e * e
	}
	h := 1e-5 / math.Sqrt(nv)
	at := func(s float64) float64 {
		for i := range x {
			xp[i] = x[i] + s*h*v[i]
		}
		return p.Eval(nil, xp)
	}
	return (-at(2) + 8*at(1) - 8*at(-1) + at(-2)) / (12 * h)
}

// checkDirectional compares ∇F(x)·v with the finite-difference derivative along five random
// directions v, failing above 1e-6 relative error, and returns the worst relative error.
func checkDirectional(t *testing.T, rng *rand.Rand, p objective, x, g, xp []float64) float64 {
	t.Helper()
	worst := 0.0
	for trial := 0; trial < 5; trial++ {
		v := randSignal(rng, len(x))
		dir := 0.0
		for i := range v {
			dir += g[i] * v[i]
		}
		fd := fdDerivative(p, x, v, xp)
		rel := math.Abs(fd-dir) / math.Abs(dir)
		if rel > 1e-6 {
			t.Errorf("directional derivative: FD %.12g, gradient %.12g, relative error %.3g", fd, dir, rel)
		}
		worst = math.Max(worst, rel)
	}
	return worst
}

// checkGradient compares ∇F(x) with central differences coordinate by coordinate (relative to
// max |∇F|) and along random directions (checkDirectional), failing above 1e-6.
func checkGradient(t *testing.T, rng *rand.Rand, p objective, x []float64) {
	t.Helper()
	g := make([]float64, len(x))
	p.Eval(g, x)
	gmax := maxAbs(g)
	xp := append([]float64(nil), x...)
	worst := 0.0
	for i := range x {
		e := make([]float64, len(x))
		e[i] = 1
		fd := fdDerivative(p, x, e, xp)
		worst = math.Max(worst, math.Abs(fd-g[i])/gmax)
	}
	if worst > 1e-6 {
		t.Errorf("coordinate-wise relative error %.3g > 1e-6", worst)
	}
	worstDir := checkDirectional(t, rng, p, x, g, xp)
	t.Logf("max relative error: coordinate-wise %.2g, directional %.2g", worst, worstDir)
}

// TestGradientFiniteDifference checks ∇F against central differences, coordinate by coordinate
// and along random directions, in float64.
func TestGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range lossCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, x := newRandomProblem(t, rng, tc.cfg, tc.loss, 151)
			checkGradient(t, rng, p, x)
		})
	}
}

// TestPreconditionedStepIsGriffinLim: x − ∇F(x)/D equals one Griffin-Lim iteration,
// ISTFT(T·X/|X|), for the magnitude MSE, in every framing.
func TestPreconditionedStepIsGriffinLim(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range lossCases() {
		if tc.loss != (Loss{}) {
			continue
		}
		for _, length := range []int{37, 300, 1001} {
			p, x := newRandomProblem(t, rng, tc.cfg, tc.loss, length)
			g := make([]float64, length)
			p.Eval(g, x)
			p.Precondition(g)
			gla := p.S.Inverse(nil, p.Project(nil, x))
			worst := 0.0
			for i := range x {
				worst = math.Max(worst, math.Abs(x[i]-g[i]-gla[i]))
			}
			if worst > 1e-12*maxAbs(gla) {
				t.Errorf("%s L=%d: max |x − ∇F/D − GLA(x)| = %.3g (relative %.3g)", tc.name, length, worst, worst/maxAbs(gla))
			}
			t.Logf("%s L=%d: max |x − ∇F/D − GLA(x)| / max|GLA(x)| = %.2g", tc.name, length, worst/maxAbs(gla))
		}
	}
}

// TestFrameLossRestricted checks the streaming form: a frame range and a fixed prefix, for the
// magnitude losses and for the mel penalty of every power and compression.
func TestFrameLossRestricted(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const nfft, hop, frames = 64, 16, 9
	win := Hann.Samples(nil, nfft, PeriodicWindow, 0)
	for _, loss := range []Loss{{}, {Compress: 0.5}} {
		f := NewFrameLoss(nfft, hop, win)
		defer f.Close()
		if err := f.SetLoss(loss); err != nil {
			t.Fatal(err)
		}
		mag := make([]float64, frames*(nfft/2+1))
		for i := range mag {
			mag[i] = math.Abs(rng.NormFloat64()) * 4
		}
		f.CompressTarget(mag, mag)
		checkRestricted(t, fmt.Sprintf("loss %+v", loss), rng, f, mag, frames)
	}
	mel, err := NewMel(MelConfig{SampleRate: 8000, NFFT: nfft, NMels: 12, FMin: 50, Scale: MelHTK})
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range melLossCases() {
		lc.loss.TopDB = 0 // a frame penalty cannot clip relative to the whole spectrogram
		pen, err := NewMelPenalty(mel, lc.loss)
		if err != nil {
			t.Fatal(err)
		}
		f := NewFrameLoss(nfft, hop, win)
		defer f.Close()
		f.SetPenalty(pen)
		lin := make([]float64, frames*mel.NMels())
		for i := range lin {
			lin[i] = math.Abs(rng.NormFloat64()) * 40
		}
		checkRestricted(t, "mel "+lc.name, rng, f, compress(t, lc.loss, lin), frames)
	}
}

// checkRestricted checks FrameLoss.Eval over frames [2, 8) with samples below 70 fixed: F is the
// sum of single frames, the gradient is accumulated into grad and matches fourth-order central
// differences on the free samples, and is zero on the fixed ones.
func checkRestricted(t *testing.T, name string, rng *rand.Rand, f *FrameLoss, tgt []float64, frames int) {
	t.Helper()
	n := (frames-1)*f.hop + f.nfft
	x := randSignal(rng, n)
	const m0, m1, fixed = 2, 8, 70
	g := make([]float64, n)
	for i := range g {
		g[i] = 0.25 // Eval accumulates
	}
	F := f.Eval(g, x, tgt, m0, m1, fixed)
	sum := 0.0
	for m := m0; m < m1; m++ {
		sum += f.Eval(nil, x, tgt, m, m+1, 0)
	}
	if math.Abs(F-sum) > 1e-12*F {
		t.Errorf("%s: F over [%d,%d) = %g, sum of single frames %g", name, m0, m1, F, sum)
	}
	const h = 1e-3 // fourth order: truncation ~h⁴, round-off ~1e-16·F/h
	for i := 0; i < n; i++ {
		want := 0.0
		if i >= fixed {
			xi := x[i]
			at := func(s float64) float64 {
				x[i] = xi + s*h
				return f.Eval(nil, x, tgt, m0, m1, 0)
			}
			want = (-at(2) + 8*at(1) - 8*at(-1) + at(-2)) / (12 * h) // fourth order
			x[i] = xi
		}
		if got := g[i] - 0.25; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("%s: sample %d (fixed < %d): gradient %g, finite difference %g", name, i, fixed, got, want)
		}
	}
}

func TestProblemRejectsBadMagnitudes(t *testing.T) {
	s := mustSTFT(t, Config{NFFT: 16, Hop: 4}, 40)
	for _, bad := range []float64{math.NaN(), math.Inf(1), -1e-3, 1.01 * MaxMagnitude, 1e200} {
		mag := make([]float64, s.Frames()*s.Bins())
		mag[3*s.Bins()+5] = bad
		_, err := NewProblem(s, mag, Loss{})
		var me *MagnitudeError
		if !errors.As(err, &me) || me.Frame != 3 || me.Bin != 5 {
			t.Errorf("magnitude %v: error %v, want frame 3 bin 5", bad, err)
		}
	}
	mag := make([]float64, s.Frames()*s.Bins())
	mag[0] = MaxMagnitude
	if _, err := NewProblem(s, mag, Loss{}); err != nil {
		t.Errorf("MaxMagnitude refused: %v", err)
	}
	if _, err := NewProblem(s, make([]float64, 7), Loss{}); err == nil {
		t.Error("wrong-size target accepted")
	}
	if _, err := NewProblem(s, make([]float64, s.Frames()*s.Bins()), Loss{Compress: 1.5}); err == nil {
		t.Error("compression 1.5 accepted")
	}
}

func TestMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	s := mustSTFT(t, Config{NFFT: 128, Hop: 32}, 2000)
	x := randSignal(rng, 2000)
	p, err := NewProblem(s, s.Magnitude(nil, x), Loss{})
	if err != nil {
		t.Fatal(err)
	}
	if sc := p.SpectralConvergence(x); sc > 1e-14 {
		t.Errorf("SC of the true signal %g", sc)
	}
	neg := make([]float64, len(x))
	for i := range x {
		neg[i] = -x[i]
	}
	if sc := p.SpectralConvergence(neg); sc > 1e-14 {
		t.Errorf("SC of −x %g", sc)
	}
	if inc := p.Inconsistency(x); inc > 1e-13 {
		t.Errorf("inconsistency of the true signal %g", inc)
	}
	if e := RelativeL2(x, neg); e != 0 {
		t.Errorf("RelativeL2(x, −x) = %g, want 0 (sign ambiguity)", e)
	}
	y := randSignal(rng, 2000)
	if inc := p.Inconsistency(y); inc < 0.1 {
		t.Errorf("inconsistency of a random signal %g, expected large", inc)
	}
	if e := RelativeL2([]float64{3, 4}, []float64{3, 0}); math.Abs(e-0.8) > 1e-15 {
		t.Errorf("RelativeL2 = %g, want 0.8", e)
	}
	if db := DB(SpectralConvergence([]float64{1.1, 0}, []float64{1, 0})); math.Abs(db-(-20)) > 1e-9 {
		t.Errorf("SC dB = %g, want −20", db)
	}
}

// TestProblemsOnOneSTFTKeepTheirLoss is the regression test for issue 16 item 3: NewProblem used
// to set the penalty on a FrameLoss the STFT shared with every Problem, so a second Problem with
// a compressed loss changed what the first one's Eval returned.
func TestProblemsOnOneSTFTKeepTheirLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	const length = 400
	s := mustSTFT(t, Config{NFFT: 64, Hop: 16}, length)
	mag := s.Magnitude(nil, randSignal(rng, length))
	x := randSignal(rng, length)
	grad := make([]float64, length)

	mse, err := NewProblem(s, mag, Loss{})
	if err != nil {
		t.Fatal(err)
	}
	f0 := mse.Eval(grad, x)
	g0 := append([]float64(nil), grad...)

	comp, err := NewProblem(s, mag, Loss{Compress: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	fc := comp.Eval(nil, x)
	if f1 := mse.Eval(grad, x); f1 != f0 {
		t.Fatalf("MSE Problem's F changed from %g to %g after a Loss{Compress: 0.3} Problem was built on its STFT", f0, f1)
	}
	for i := range grad {
		if grad[i] != g0[i] {
			t.Fatalf("MSE Problem's gradient changed at sample %d: %g → %g", i, g0[i], grad[i])
		}
	}
	if fc == f0 {
		t.Fatalf("compressed Problem's F equals the MSE's (%g): its penalty was not applied", fc)
	}
	// The compressed Problem agrees with one built on its own STFT.
	alone, err := NewProblem(mustSTFT(t, Config{NFFT: 64, Hop: 16}, length), mag, Loss{Compress: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if fa := alone.Eval(nil, x); math.Abs(fa-fc) > 1e-12*math.Abs(fa) {
		t.Fatalf("compressed Problem on a shared STFT gives F = %g, on its own STFT %g", fc, fa)
	}
	// Closing the STFT after its Problems is the only Close needed (they borrow its plan).
	s.Close()
}
