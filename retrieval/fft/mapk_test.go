package fft

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// TestMagnitudeMapMatchesGo checks the build's kernel (AVX2 under FFTW) against the Go one,
// including zeros and lengths that are not multiples of the vector width.
func TestMagnitudeMapMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 3, 4, 7, 64, 1001} {
		spec := make([]complex128, n)
		tgt := make([]float64, n)
		for i := range spec {
			spec[i] = complex(rng.NormFloat64(), rng.NormFloat64())
			tgt[i] = math.Abs(rng.NormFloat64())
		}
		spec[0] = 0
		want := append([]complex128(nil), spec...)
		ws := magnitudeMapGo(want, tgt, 1, -1)
		got := append([]complex128(nil), spec...)
		gs := MagnitudeMap(got, tgt, 1, -1)
		if math.Abs(gs-ws) > 1e-12*math.Max(1, ws) {
			t.Errorf("n=%d: sum %v, want %v", n, gs, ws)
		}
		for i := range got {
			if cmplx.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("n=%d: value %d = %v, want %v", n, i, got[i], want[i])
			}
		}
		if a := testing.AllocsPerRun(5, func() { MagnitudeMap(got, tgt, 1, -1) }); a != 0 {
			t.Errorf("n=%d: %v allocations", n, a)
		}
	}
}
