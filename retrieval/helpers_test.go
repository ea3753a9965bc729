package retrieval

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/sbinet/npyio"
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

// readNpy reads a float64 .npy file and its shape.
func readNpy(t *testing.T, path string) ([]float64, []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var data []float64
	if err := r.Read(&data); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data, r.Header.Descr.Shape
}
