package retrieval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rephase/rephase/retrieval/fft"
)

// seedsChirp is the seeds' experiment: N = 2048, fs = 2048, log chirp 1 → 1024 Hz plus 1, n_fft
// 128, periodic Hann, hop 32, center framing with reflect padding.
func seedsChirp(t testing.TB) (*Problem, []float64) {
	x := LogChirp(2048, 2048, 1, 1024)
	for i := range x {
		x[i]++
	}
	s, err := NewSTFT(Config{NFFT: 128, Hop: 32}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProblem(s, s.Magnitude(nil, x), Loss{})
	if err != nil {
		t.Fatal(err)
	}
	return p, x
}

func TestInvertChirpAllMethods(t *testing.T) {
	p, x := seedsChirp(t)
	for _, c := range []struct {
		name   string
		opt    Options
		maxRel float64
	}{
		{"fgla-zero", Options{Optimizer: FGLA, MaxIter: 600}, 0.01},
		{"fgla-pghi", Options{Optimizer: FGLA, Init: InitPGHI, MaxIter: 600}, 2},
		{"lbfgs-zero", Options{Optimizer: LBFGS, MaxIter: 600}, 0.01},
		{"gla-zero", Options{Optimizer: GLA, MaxIter: 600}, 1},
		{"adam-zero", Options{Optimizer: Adam, MaxIter: 600}, 1},
		{"sgdm-zero", Options{Optimizer: SGDM, MaxIter: 600}, 1},
		{"fgla-random", Options{Optimizer: FGLA, Init: InitRandom, Seed: 1, MaxIter: 600}, 2},
	} {
		res, err := Invert(p, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		rel := RelativeL2(x, res.Signal)
		sc := DB(p.SpectralConvergence(res.Signal))
		t.Logf("%-14s SC %7.2f dB  rel L2 %.4f  inconsistency %.2e  (%d iterations, %v)", c.name, sc, rel, res.Inconsistency, res.Iterations, res.Stop)
		if rel > c.maxRel || math.IsNaN(rel) {
			t.Errorf("%s: relative L2 %.4f > %.4f", c.name, rel, c.maxRel)
		}
	}
}

// TestPGHIInitialPhase: PGHI alone (no iteration) recovers tones and a linear chirp to better than
// −20 dB spectral convergence, where zero and random phase are near 0 dB.
func TestPGHIInitialPhase(t *testing.T) {
	x := make([]float64, 4000)
	for i := range x {
		ti := float64(i)
		x[i] = math.Sin(2*math.Pi*0.05*ti) + 0.5*math.Sin(2*math.Pi*(0.01*ti+0.00002*ti*ti))
	}
	for _, w := range []Window{Gaussian, Hann} {
		s := mustSTFT(t, Config{NFFT: 256, Hop: 32, Window: w}, len(x))
		p, err := NewProblem(s, s.Magnitude(nil, x), Loss{})
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, len(x))
		if err := p.InitialSignal(y, InitPGHI, 1); err != nil {
			t.Fatal(err)
		}
		sc := DB(p.SpectralConvergence(y))
		p.InitialSignal(y, InitZero, 1)
		zero := DB(p.SpectralConvergence(y))
		t.Logf("%v: PGHI %.2f dB, zero phase %.2f dB", w, sc, zero)
		if sc > -20 {
			t.Errorf("%v window: PGHI spectral convergence %.2f dB > −20 dB", w, sc)
		}
	}
}

func TestInvertOptionErrors(t *testing.T) {
	p, _ := seedsChirp(t)
	if _, err := Invert(p, Options{InitialSignal: make([]float64, 5)}); err == nil {
		t.Error("wrong-length initial signal accepted")
	}
	if _, err := Invert(p, Options{MaxIter: -1}); err == nil {
		t.Error("negative iteration count accepted")
	}
	for s, want := range map[string]Optimizer{"gla": GLA, "FGLA": FGLA, " LBFGS ": LBFGS, "Adam": Adam, "sgdm": SGDM} {
		if o, err := ParseOptimizer(s); err != nil || o != want {
			t.Errorf("ParseOptimizer(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := ParseOptimizer("gd"); err == nil {
		t.Error("the old method name gd parsed as an optimizer")
	}
	if _, err := ParseOptimizer("rmsprop"); err == nil {
		t.Error("unknown optimizer parsed")
	}
}

// TestInvertRejectsNonFiniteOptions: option values that can only produce NaN or a diverging
// iterate are errors, not silent garbage.
func TestInvertRejectsNonFiniteOptions(t *testing.T) {
	x := LogChirp(2048, 2048, 1, 1024)
	s, err := NewSTFT(Config{NFFT: 128, Hop: 32}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProblem(s, s.Magnitude(nil, x), Loss{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Alpha: math.NaN()}, {Alpha: 1.5}, {Tol: math.Inf(1)}, {Momentum: 1},
		{Optimizer: Adam, LearningRate: math.NaN()}, {LearningRate: -1},
	} {
		if _, err := Invert(p, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestZeroAndDefaultOptions: 0 means 0 — the zero Options runs no iteration and returns the
// initial estimate (zero phase) bit for bit, with its inconsistency even when Tol is set;
// MaxIter 0 with InitPGHI is PGHI alone; Tol 0 never stops early; DefaultOptions is FGLA for at
// most DefaultMaxIter iterations, converged only below DefaultTol.
func TestZeroAndDefaultOptions(t *testing.T) {
	p, _ := seedsChirp(t)
	for _, o := range []Options{{}, {Init: InitPGHI, Seed: 3, Tol: 0.5}, {Optimizer: LBFGS, Tol: 1e-3}} {
		res, err := Invert(p, o)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, p.S.Length())
		if err := p.InitialSignal(want, o.Init, o.Seed); err != nil {
			t.Fatal(err)
		}
		if res.Iterations != 0 || res.Stop != MaxIterations || !slices.Equal(res.Signal, want) || res.Inconsistency != p.Inconsistency(want) {
			t.Errorf("%+v: %d iterations (%v), inconsistency %g; want the initial signal's %g", o, res.Iterations, res.Stop,
				res.Inconsistency, p.Inconsistency(want))
		}
	}
	res, err := Invert(p, Options{MaxIter: 30})
	if err != nil || res.Iterations != 30 || res.Stop != MaxIterations {
		t.Errorf("Tol 0: %v iterations (%v), %v; want all 30", res.Iterations, res.Stop, err)
	}
	d := DefaultOptions()
	if d.Optimizer != FGLA || d.Init != InitZero || d.MaxIter != DefaultMaxIter || d.Tol != DefaultTol {
		t.Errorf("DefaultOptions %+v", d)
	}
	if res, err = Invert(p, d); err != nil || res.Iterations < 1 || res.Iterations > DefaultMaxIter ||
		(res.Stop == Converged) != (res.Inconsistency < DefaultTol) {
		t.Errorf("DefaultOptions: %d iterations, %v at inconsistency %g, %v", res.Iterations, res.Stop, res.Inconsistency, err)
	}
}

// TestMaxMagnitudeIsSafe: a signal scaled so that its largest magnitude is just below
// MaxMagnitude inverts as well as at its own scale with each optimizer in each precision: the
// ceiling keeps float32's frames in range. The signal has loud frames beside quiet ones (white
// noise gated 60 dB down half of the time), which the float32 pairs scale up. With the ceiling at
// 1e39 it fails: FGLA returns NaN in float32.
func TestMaxMagnitudeIsSafe(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randSignal(rng, 8192)
	for i := range x {
		if (i/1024)%2 == 1 {
			x[i] *= 1e-3
		}
	}
	s := mustSTFT(t, Config{NFFT: 512, Hop: 128}, len(x))
	mag := s.Magnitude(nil, x)
	peak := slices.Max(mag)
	big := make([]float64, len(x))
	for i, v := range x {
		big[i] = v * MaxMagnitude / peak * (1 - 1e-9)
	}
	p, err := NewProblem(s, mag, Loss{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := NewProblem(s, s.Magnitude(nil, big), Loss{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Optimizer{FGLA, LBFGS} {
		for _, prec := range []fft.Precision{fft.Float32, fft.Float64} {
			p.SetPrecision(prec)
			pb.SetPrecision(prec)
			opt := Options{Optimizer: o, Init: InitPGHI, MaxIter: 40}
			want, err := Invert(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Invert(pb, opt)
			if err != nil {
				t.Fatal(err)
			}
			w, g := DB(p.SpectralConvergence(want.Signal)), DB(pb.SpectralConvergence(got.Signal))
			if math.IsNaN(g) || math.Abs(g-w) > 0.05 {
				t.Errorf("%v %v: SC %.2f dB just below MaxMagnitude, %.2f dB at the signal's scale", o, prec, g, w)
			}
		}
	}
}
