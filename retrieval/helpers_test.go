package retrieval

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rephase/rephase/stream/npy"
)

func randSignal(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func mustSTFT(t testing.TB, cfg Config, length int) *STFT {
	t.Helper()
	s, err := NewSTFT(cfg, length)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// readNpy reads a C-order .npy file (stream/npy) and its shape.
func readNpy(t *testing.T, path string) ([]float64, []int) {
	t.Helper()
	h, data, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Fortran {
		t.Fatalf("%s: Fortran order", path)
	}
	return data, h.Shape
}
