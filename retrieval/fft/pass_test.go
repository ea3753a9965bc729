package fft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMagnitudePassMatchesReference checks the backend's MagnitudePass (the fused C kernel under
// FFTW) against the portable Go implementation on inputs that exercise every path: zero bins
// (X = 0), tiny and huge magnitudes (the AVX2 map's scalar fallback), an accumulator offset and a
// loss-only call.
func TestMagnitudePassMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{2, 8, 16, 30, 64, 512, 1000} {
		p := New(n)
		for trial := 0; trial < 4; trial++ {
			x, win := make([]float64, n), make([]float64, n)
			scale := []float64{1, 1e-20, 1e20, 0}[trial]
			for i := range x {
				x[i] = rng.NormFloat64() * scale
				win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
			}
			tg := make([]float64, n/2+1)
			for i := range tg {
				tg[i] = rng.Float64() * 10 * math.Max(scale, 1e-3)
			}
			from := rng.IntN(n)
			for _, ab := range [][2]float64{{2, -2}, {0, 1}} {
				accA, accB := make([]float64, n), make([]float64, n)
				for i := range accA {
					accA[i] = rng.NormFloat64()
					accB[i] = accA[i]
				}
				fA := p.MagnitudePass(accA, x, win, tg, ab[0], ab[1], from, make([]float64, n), make([]complex128, n/2+1))
				fB := p.magnitudePassGo(accB, x, win, tg, ab[0], ab[1], from, make([]float64, n), make([]complex128, n/2+1))
				fC := p.MagnitudePass(nil, x, win, tg, ab[0], ab[1], 0, make([]float64, n), make([]complex128, n/2+1))
				if math.Abs(fA-fB) > 1e-12*math.Abs(fB) || fA != fC {
					t.Fatalf("n=%d trial %d: loss %g (backend) vs %g (Go) vs %g (loss only)", n, trial, fA, fB, fC)
				}
				amax := 0.0
				for i := range accB {
					amax = math.Max(amax, math.Abs(accB[i]))
				}
				for i := range accA {
					if math.Abs(accA[i]-accB[i]) > 1e-12*amax {
						t.Fatalf("n=%d trial %d α=%v: acc[%d] = %g (backend) vs %g (Go)", n, trial, ab[0], i, accA[i], accB[i])
					}
				}
			}
		}
		p.Close()
	}
}
