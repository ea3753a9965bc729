package retrieval

import (
	"math"
	"testing"
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
		{"fgla-zero", Options{Optimizer: FGLA, MaxIter: 600, Tol: -1}, 0.01},
		{"fgla-pghi", Options{Optimizer: FGLA, Init: InitPGHI, MaxIter: 600, Tol: -1}, 2},
		{"gd-lbfgs-zero", Options{Optimizer: LBFGS, MaxIter: 600, Tol: -1}, 0.01},
		{"gla-zero", Options{Optimizer: GLA, MaxIter: 600, Tol: -1}, 1},
		{"gd-adam-zero", Options{Optimizer: Adam, MaxIter: 600, Tol: -1}, 1},
		{"gd-sgdm-zero", Options{Optimizer: SGDM, MaxIter: 600, Tol: -1}, 1},
		{"fgla-random", Options{Optimizer: FGLA, Init: InitRandom, Seed: 1, MaxIter: 600, Tol: -1}, 2},
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
