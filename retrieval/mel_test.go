package retrieval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/rephase/rephase/stream/npy"
)

// TestMelMatchesTorchaudio compares NewMel with torchaudio.functional.melscale_fbanks (librosa's
// conventions) on the fixtures that testdata/mel_reference.py writes, to 1e-6.
func TestMelMatchesTorchaudio(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  MelConfig
	}{
		{"hifigan", MelConfig{SampleRate: 22050, NFFT: 1024, NMels: 80, FMax: 8000}},
		{"htk_none_16k", MelConfig{SampleRate: 16000, NFFT: 512, NMels: 40, Scale: MelHTK, Norm: MelNormNone}},
		{"slaney_none_fmin", MelConfig{SampleRate: 22050, NFFT: 512, NMels: 96, FMin: 30, FMax: 11025, Norm: MelNormNone}},
		{"htk_slaney_44k", MelConfig{SampleRate: 44100, NFFT: 512, NMels: 64, FMin: 50, FMax: 14000, Scale: MelHTK}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, want, err := npy.ReadFile(filepath.Join("testdata", "mel_"+tc.name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			rows, cols, err := h.Matrix()
			if err != nil || h.Fortran {
				t.Fatalf("fixture shape %v fortran=%v: %v", h.Shape, h.Fortran, err)
			}
			m, err := NewMel(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rows != m.NMels() || cols != m.Bins() {
				t.Fatalf("fixture is %d × %d, filterbank %d × %d", rows, cols, m.NMels(), m.Bins())
			}
			worst := 0.0
			for i, v := range m.Weights() {
				worst = math.Max(worst, math.Abs(v-want[i]))
			}
			if worst > 1e-6 {
				t.Errorf("max |Δ| = %.3g > 1e-6", worst)
			}
			t.Logf("max |Δ| = %.2g", worst)
		})
	}
}

func TestMelScaleRoundTrip(t *testing.T) {
	for _, s := range []MelScale{MelSlaney, MelHTK} {
		for _, f := range []float64{0, 10, 700, 999.9, 1000, 1000.1, 8000, 22050} {
			if g := MelToHz(HzToMel(f, s), s); math.Abs(g-f) > 1e-9*math.Max(1, f) {
				t.Errorf("%v: %g Hz → %g Hz", s, f, g)
			}
		}
	}
	if m := HzToMel(1000, MelSlaney); m != 15 {
		t.Errorf("slaney mel(1000 Hz) = %g, want 15", m)
	}
	var s MelScale
	if err := s.UnmarshalText([]byte("HTK")); err != nil || s != MelHTK {
		t.Errorf("UnmarshalText(HTK) = %v, %v", s, err)
	}
	var l MelLog
	if err := l.UnmarshalText([]byte("dB")); err != nil || l != LogDB {
		t.Errorf("UnmarshalText(dB) = %v, %v", l, err)
	}
	if err := l.UnmarshalText([]byte("log2")); err == nil {
		t.Error("UnmarshalText(log2) accepted")
	}
}

func TestNewMelRejects(t *testing.T) {
	for _, cfg := range []MelConfig{
		{SampleRate: 0, NFFT: 512, NMels: 40},
		{SampleRate: 16000, NFFT: 511, NMels: 40},
		{SampleRate: 16000, NFFT: 512, NMels: 0},
		{SampleRate: 16000, NFFT: 512, NMels: 40, FMin: 4000, FMax: 3000},
		{SampleRate: 16000, NFFT: 512, NMels: 40, FMin: -1},
	} {
		if _, err := NewMel(cfg); err == nil {
			t.Errorf("NewMel(%+v) accepted", cfg)
		}
	}
}

type melCase struct {
	name string
	loss MelLoss
}

func melLossCases() []melCase {
	return []melCase{
		{"mag", MelLoss{}},
		{"power", MelLoss{Power: 2}},
		{"mag-ln", MelLoss{Log: LogLn}},
		{"power-log10", MelLoss{Power: 2, Log: LogLog10}},
		{"power-db-top80", MelLoss{Power: 2, Log: LogDB, TopDB: 80}},
		{"mag-db-ref", MelLoss{Log: LogDB, Ref: 3}},
	}
}

// compress applies g to a linear mel target as the loss describes it (the reference the
// problem is built from).
func compress(t *testing.T, loss MelLoss, lin []float64) []float64 {
	t.Helper()
	l, err := loss.resolve()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(lin))
	mx := math.Inf(-1)
	for i, v := range lin {
		out[i], _ = l.g(v)
		mx = math.Max(mx, out[i])
	}
	if loss.Log == LogDB && loss.TopDB > 0 {
		for i := range out {
			out[i] = math.Max(out[i], mx-loss.TopDB)
		}
	}
	return out
}

func newRandomMelProblem(t *testing.T, rng *rand.Rand, cfg Config, mcfg MelConfig, loss MelLoss, length int) (*MelProblem, []float64) {
	t.Helper()
	s := mustSTFT(t, cfg, length)
	mel, err := NewMel(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewMelProblem(s, mel, make([]float64, s.Frames()*mel.NMels()), MelLoss{Power: loss.Power})
	if err != nil {
		t.Fatal(err)
	}
	lin := ref.MelSpectrogram(nil, randSignal(rng, length))
	p, err := NewMelProblem(s, mel, compress(t, loss, lin), loss)
	if err != nil {
		t.Fatal(err)
	}
	return p, randSignal(rng, length)
}

// TestMelGradientFiniteDifference checks the mel loss's gradient against central differences,
// coordinate by coordinate and along random directions, in float64, for every power and
// compression and the framings with padding: without the anchor, and with an anchor 5 times as
// stiff as the mel term (to the least-squares and to the harmonic estimate) so that its own
// gradient dominates.
func TestMelGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, fr := range []struct {
		name string
		cfg  Config
	}{
		{"center-reflect", Config{NFFT: 64, Hop: 16, Framing: Center, Pad: Reflect}},
		{"full-hamming-win48", Config{NFFT: 64, WinLength: 48, Hop: 20, Window: Hamming, Framing: Full, Pad: Zero}},
	} {
		for _, lc := range melLossCases() {
			t.Run(fr.name+"/"+lc.name, func(t *testing.T) {
				mcfg := MelConfig{SampleRate: 8000, NFFT: 64, NMels: 12, FMin: 50, Scale: MelHTK}
				p, x := newRandomMelProblem(t, rng, fr.cfg, mcfg, lc.loss, 151)
				for _, a := range []struct {
					w     float64
					start MelStart
				}{{-1, MelStartAuto}, {5, MelStartLeastSquares}, {5, MelStartHarmonic}} {
					p.Anchor, p.Start = a.w, a.start
					if _, err := p.StartEstimate(); err != nil {
						t.Fatal(err)
					}
					checkGradient(t, rng, p, x)
				}
			})
		}
	}
}

// TestMelProblemAtTruth: without the anchor, F and the gradient vanish at the signal the target
// was made from; with it, F is the anchor's μ·Σ_m ‖|X_m| − Ŝ_m‖² there (one-sided bins other
// than DC and Nyquist counted twice).
func TestMelProblemAtTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lc := range melLossCases() {
		s := mustSTFT(t, Config{NFFT: 128, Hop: 32}, 900)
		mel, _ := NewMel(MelConfig{SampleRate: 16000, NFFT: 128, NMels: 20})
		x := randSignal(rng, 900)
		ref, _ := NewMelProblem(s, mel, make([]float64, s.Frames()*20), MelLoss{Power: lc.loss.Power})
		p, err := NewMelProblem(s, mel, compress(t, lc.loss, ref.MelSpectrogram(nil, x)), lc.loss)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, len(x))
		p.Anchor = -1
		if f := p.Eval(g, x); f > 1e-18 || maxAbs(g) > 1e-9 {
			t.Errorf("%s: F = %g, max |∇F| = %g at the truth", lc.name, f, maxAbs(g))
		}
		p.Anchor = 0.5
		est, err := p.StartEstimate()
		if err != nil {
			t.Fatal(err)
		}
		mag, b := s.Magnitude(nil, x), s.Bins()
		var want float64
		for i, v := range mag {
			d := v - est[i]
			if k := i % b; k != 0 && k != b-1 {
				d *= math.Sqrt2
			}
			want += d * d
		}
		want *= 0.5 * p.curv
		if f := p.Eval(nil, x); math.Abs(f-want) > 1e-9*want || p.Inconsistency(x) > 1e-9 {
			t.Errorf("%s: F = %g with the anchor at the truth, want %g; inconsistency %g", lc.name, f, want, p.Inconsistency(x))
		}
		if sc := p.SpectralConvergence(x); sc > 1e-12 {
			t.Errorf("%s: mel SC %g at the truth", lc.name, sc)
		}
	}
}

func TestMelProblemRejects(t *testing.T) {
	s := mustSTFT(t, Config{NFFT: 64, Hop: 16}, 300)
	mel, _ := NewMel(MelConfig{SampleRate: 8000, NFFT: 64, NMels: 10})
	good := make([]float64, s.Frames()*10)
	bad := append([]float64(nil), good...)
	bad[23] = -1
	if _, err := NewMelProblem(s, mel, bad, MelLoss{}); err == nil {
		t.Error("negative mel accepted without log compression")
	}
	if _, err := NewMelProblem(s, mel, bad, MelLoss{Log: LogLn}); err != nil {
		t.Errorf("negative log-mel rejected: %v", err)
	}
	bad[5] = math.NaN()
	if _, err := NewMelProblem(s, mel, bad, MelLoss{Log: LogLn}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := NewMelProblem(s, mel, good[1:], MelLoss{}); err == nil {
		t.Error("wrong size accepted")
	}
	if _, err := NewMelProblem(s, mel, good, MelLoss{Power: 3}); err == nil {
		t.Error("power 3 accepted")
	}
	// Values whose linear magnitude g⁻¹(v)^{1/p} exceeds MaxMagnitude: ln 69 is 9.3e29, ln 70
	// is 2.5e30; with power 2 the square root is taken first.
	big := math.Log(MaxMagnitude)
	for _, c := range []struct {
		loss    MelLoss
		ok, bad float64
	}{
		{MelLoss{Log: LogLn}, 69, 70},
		{MelLoss{Log: LogLn}, 69, 800}, // exp overflows to +Inf
		{MelLoss{Log: LogLn, Power: 2}, 2 * big * 0.999, 2 * big * 1.001},
		{MelLoss{Log: LogLog10}, 29.9, 30.1},
		{MelLoss{Log: LogDB}, 599, 601},
		{MelLoss{}, MaxMagnitude, 1.01 * MaxMagnitude},
		{MelLoss{Power: 2}, MaxMagnitude * MaxMagnitude * 0.99, MaxMagnitude * MaxMagnitude * 1.01},
	} {
		tgt := append([]float64(nil), good...)
		tgt[17] = c.ok
		pen, _ := NewMelPenalty(mel, c.loss)
		if _, err := NewMelProblem(s, mel, tgt, c.loss); err != nil || !pen.Valid(c.ok) {
			t.Errorf("%+v: %v refused: %v (Valid %v)", c.loss, c.ok, err, pen.Valid(c.ok))
		}
		if _, err := DecompressSpectrogram(tgt, 10, c.loss); err != nil {
			t.Errorf("%+v: DecompressSpectrogram refused %v: %v", c.loss, c.ok, err)
		}
		tgt[17] = c.bad
		_, err := NewMelProblem(s, mel, tgt, c.loss)
		var me *MagnitudeError
		if !errors.As(err, &me) || me.Frame != 1 || me.Bin != 7 || !(me.Linear > MaxMagnitude) || pen.Valid(c.bad) {
			t.Errorf("%+v: %v gave %v (Valid %v), want frame 1 band 7 with its linear magnitude", c.loss, c.bad, err, pen.Valid(c.bad))
		}
		if _, err := DecompressSpectrogram(tgt, 10, c.loss); !errors.As(err, &me) || me.Frame != 1 || me.Bin != 7 {
			t.Errorf("%+v: DecompressSpectrogram of %v gave %v", c.loss, c.bad, err)
		}
		// The ceiling itself, as computed and as float32 (where float32 holds it: not a power
		// 1e60), is accepted (tolerance 1e-5).
		top := []float64{math.Pow(MaxMagnitude, pen.l.p)}
		pen.Compress(top, top)
		if f := float32(top[0]); !pen.Valid(top[0]) || (!math.IsInf(float64(f), 0) && !pen.Valid(float64(f))) {
			t.Errorf("%+v: the ceiling's stored value %v (float32 %v) refused", c.loss, top[0], float32(top[0]))
		}
		if n := testing.AllocsPerRun(10, func() { pen.Valid(c.bad); pen.Valid(math.NaN()) }); n != 0 {
			t.Errorf("%+v: Valid allocates %v times on invalid values", c.loss, n)
		}
	}
	if !ValidMagnitude(MaxMagnitude) || !ValidMagnitude(float64(float32(MaxMagnitude))) || ValidMagnitude(1.0001*MaxMagnitude) {
		t.Error("ValidMagnitude at the ceiling")
	}
	mel2, _ := NewMel(MelConfig{SampleRate: 8000, NFFT: 128, NMels: 10})
	if _, err := NewMelProblem(s, mel2, good, MelLoss{}); err == nil {
		t.Error("n_fft mismatch accepted")
	}
}

// TestPseudoInverseClipped: for a spectrum in the row space of Φ, Φ⁺ recovers it; the result is
// never negative.
func TestPseudoInverseClipped(t *testing.T) {
	mel, _ := NewMel(MelConfig{SampleRate: 16000, NFFT: 128, NMels: 20})
	rng := rand.New(rand.NewPCG(1, 2))
	spec := make([]float64, 3*mel.Bins())
	for i := range spec {
		spec[i] = rng.Float64()
	}
	y := mel.Apply(nil, spec)
	est, err := mel.PseudoInverse(nil, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range est {
		if v < 0 {
			t.Fatal("negative value")
		}
	}
	// Φ·est ≈ y wherever clipping did not act: check the residual is small relative to y.
	if sc := SpectralConvergence(mel.Apply(nil, est), y); sc > 0.1 {
		t.Errorf("Φ·Φ⁺y misses y by SC %.3g", sc)
	}
}

// TestInvertMelConverges: L-BFGS on the mel loss from the clipped least-squares start lowers the
// mel spectral convergence of a short tone mixture well below its start, for a log-mel target
// decompressed into the linear domain (as the CLI's --fit linear does); in the ln domain F falls
// too.
func TestInvertMelConverges(t *testing.T) {
	cfg := Config{NFFT: 256, Hop: 64}
	n := 4000
	x := make([]float64, n)
	for i := range x {
		tt := float64(i) / 8000
		x[i] = math.Sin(2*math.Pi*440*tt) + 0.5*math.Sin(2*math.Pi*(700+300*tt)*tt)
	}
	s := mustSTFT(t, cfg, n)
	mel, _ := NewMel(MelConfig{SampleRate: 8000, NFFT: 256, NMels: 40})
	ref, _ := NewMelProblem(s, mel, make([]float64, s.Frames()*40), MelLoss{})
	lin := ref.MelSpectrogram(nil, x)
	loss := MelLoss{Log: LogLn}
	pLog, err := NewMelProblem(s, mel, compress(t, loss, lin), loss)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewMelProblem(s, mel, pLog.LinearTarget(), MelLoss{})
	if err != nil {
		t.Fatal(err)
	}
	x0 := make([]float64, n)
	if err := p.InitialSignal(x0, InitPGHI, 1); err != nil {
		t.Fatal(err)
	}
	start := DB(p.SpectralConvergence(x0))
	// The mel loss alone, then with the default anchor, which may cost up to 1 dB of mel SC.
	var free float64
	for _, a := range []float64{-1, 0} {
		p.Anchor = a
		res, err := InvertMel(p, Options{Optimizer: LBFGS, MaxIter: 60, InitialSignal: x0})
		if err != nil {
			t.Fatal(err)
		}
		end := DB(p.SpectralConvergence(res.Signal))
		t.Logf("anchor %g: mel SC %.1f dB → %.1f dB in %d iterations", a, start, end, res.Iterations)
		if a < 0 {
			free = end
			if !(end < start-10) || !(end < -25) {
				t.Errorf("without the anchor: mel SC %.1f dB → %.1f dB", start, end)
			}
		} else if !(end < -25) || !(end < free+1) {
			t.Errorf("with the default anchor: mel SC %.1f dB → %.1f dB (%.1f dB without)", start, end, free)
		}
	}
	resLog, err := InvertMel(pLog, Options{Optimizer: LBFGS, MaxIter: 20, InitialSignal: x0})
	if err != nil {
		t.Fatal(err)
	}
	if f0, f1 := pLog.Eval(nil, x0), pLog.Eval(nil, resLog.Signal); !(f1 < f0) {
		t.Errorf("ln-domain F %g → %g", f0, f1)
	}
}

func ExampleNewMel() {
	// HiFi-GAN's filterbank: 80 Slaney-scale bands between 0 and 8 kHz, Slaney area normalisation,
	// over the 513 bins of a 1024-point FFT at 22 050 Hz.
	mel, err := NewMel(MelConfig{SampleRate: 22050, NFFT: 1024, NMels: 80, FMax: 8000})
	if err != nil {
		panic(err)
	}
	fmt.Println(mel.NMels(), "×", mel.Bins())
	// A flat unit magnitude spectrum: each band's value is its filter's area.
	spec := make([]float64, mel.Bins())
	for k := range spec {
		spec[k] = 1
	}
	y := mel.Apply(nil, spec)
	fmt.Printf("band 0: %.4f, band 79: %.4f\n", y[0], y[79])
	// Output:
	// 80 × 513
	// band 0: 0.0453, band 79: 0.0464
}

// TestMelAnchorTargets: what the anchor pulls toward. From a caller's initial signal (here the
// truth) InvertMel anchors to that signal's magnitudes, so the truth stays put with the default
// anchor; SetAnchorTarget replaces the estimate and is validated; log-domain fits have no anchor
// by default; CheckMelAnchor's weights are refused by InvertMel.
func TestMelAnchorTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	s := mustSTFT(t, Config{NFFT: 256, Hop: 64}, 3000)
	mel, _ := NewMel(MelConfig{SampleRate: 8000, NFFT: 256, NMels: 40})
	x := randSignal(rng, 3000)
	ref, _ := NewMelProblem(s, mel, make([]float64, s.Frames()*40), MelLoss{})
	p, err := NewMelProblem(s, mel, ref.MelSpectrogram(nil, x), MelLoss{})
	if err != nil {
		t.Fatal(err)
	}
	lp, _ := NewProblem(s, s.Magnitude(nil, x), Loss{})
	res, err := InvertMel(p, Options{Optimizer: LBFGS, MaxIter: 20, InitialSignal: x})
	if err != nil {
		t.Fatal(err)
	}
	if sc := DB(lp.SpectralConvergence(res.Signal)); sc > -100 {
		t.Errorf("from the truth with the default anchor: linear SC %.1f dB, want the truth kept", sc)
	}
	// An explicit target: Eval's anchor term is μ·Σ c_k(|X_k| − Ŝ_k)², 0 at Ŝ = |X|.
	p.Anchor = 1
	if err := p.SetAnchorTarget(lp.mag); err != nil {
		t.Fatal(err)
	}
	if f := p.Eval(nil, x); f > 1e-20 {
		t.Errorf("F %g at the truth with Ŝ = |STFT(x)|", f)
	}
	for _, bad := range [][]float64{lp.mag[1:], append([]float64{math.NaN()}, lp.mag[1:]...), append([]float64{2 * MaxMagnitude}, lp.mag[1:]...)} {
		if err := p.SetAnchorTarget(bad); err == nil {
			t.Errorf("anchor target of %d values starting %g accepted", len(bad), bad[0])
		}
	}
	if got, _ := p.AnchorTarget(); &got[0] != &lp.mag[0] {
		t.Error("a refused target replaced the previous one")
	}
	p.SetAnchorTarget(nil)
	if got, _ := p.AnchorTarget(); &got[0] == &lp.mag[0] {
		t.Error("SetAnchorTarget(nil) did not restore the start's estimate")
	}
	for _, w := range []float64{math.NaN(), math.Inf(1), 2 * MaxMelAnchor} {
		p.Anchor = w
		if _, err := InvertMel(p, Options{Optimizer: LBFGS, MaxIter: 1}); err == nil {
			t.Errorf("anchor weight %g accepted", w)
		}
	}
	// Log-domain fits: no anchor unless asked for.
	logLoss := MelLoss{Log: LogLn}
	pl, err := NewMelProblem(s, mel, compress(t, logLoss, ref.MelSpectrogram(nil, x)), logLoss)
	if err != nil {
		t.Fatal(err)
	}
	y := randSignal(rng, 3000)
	f0 := pl.Eval(nil, y)
	pl.Anchor = -1
	if f1 := pl.Eval(nil, y); f1 != f0 {
		t.Errorf("log-domain fit: F %g with the default anchor, %g without; want no default anchor", f0, f1)
	}
}
