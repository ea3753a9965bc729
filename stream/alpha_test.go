package stream_test

import (
	"math"
	"testing"

	"github.com/rephase/rephase/benchmarks"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

// TestFGLAAlphaRamp: Config.AlphaMax at or below Alpha leaves FGLA's constant extrapolation
// (the same bytes as the default), and above it ramps the extrapolation within each hop, which
// changes the output and keeps it finite and close to the input's magnitudes.
func TestFGLAAlphaRamp(t *testing.T) {
	x := benchmarks.Music(16000, 1.5, benchmarks.NoDrums)
	run := func(alphaMax float64) ([]float64, float64) {
		c := stream.DefaultConfig()
		c.ItersPerHop, c.AlphaMax = 32, alphaMax
		y, stft, _ := resynth(t, c, x)
		return y, retrieval.STFTSpectralConvergenceDB(stft, x, y)
	}
	def, scDef := run(0)
	low, _ := run(0.5)
	ramp, scRamp := run(0.95)
	for i := range def {
		if def[i] != low[i] {
			t.Fatalf("AlphaMax 0.5 (below Alpha 0.7) changed sample %d: %v, default %v", i, low[i], def[i])
		}
	}
	same := true
	for i := range def {
		if math.IsNaN(ramp[i]) || math.IsInf(ramp[i], 0) {
			t.Fatalf("ramped output sample %d is %v", i, ramp[i])
		}
		same = same && ramp[i] == def[i]
	}
	if same {
		t.Error("AlphaMax 0.95 gave the constant extrapolation's output")
	}
	if scRamp > -20 || scDef > -20 {
		t.Errorf("spectral convergence %.1f dB ramped, %.1f dB constant; want both ≤ −20", scRamp, scDef)
	}
}

func withRate(c stream.Config) stream.Config {
	c.SampleRate = 16000
	if c.STFT.NFFT == 0 {
		c.STFT.NFFT, c.STFT.Hop = 512, 128
	}
	return c
}

// TestFGLAAlphaChecked: NewEngine refuses an extrapolation outside (0, 1) and a NaN or negative
// AlphaMax.
func TestFGLAAlphaChecked(t *testing.T) {
	for _, c := range []struct{ alpha, alphaMax float64 }{{1, 0}, {-0.5, 0}, {math.NaN(), 0}, {0.7, math.NaN()}, {0.7, -1}} {
		cfg := withRate(stream.DefaultConfig())
		cfg.Alpha, cfg.AlphaMax = c.alpha, c.alphaMax
		if e, err := stream.NewEngine(cfg); err == nil {
			e.Close()
			t.Errorf("Alpha %v, AlphaMax %v accepted", c.alpha, c.alphaMax)
		}
	}
}
