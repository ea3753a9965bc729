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

// TestMagnitudeMapBits: the map's every bin is bit for bit the plain expression
// (alpha + beta·(t/r))·X with r = sqrt(re² + im²) correctly rounded (the AVX2 kernel's vector
// square root and division, the scalar tail, and the Go kernel alike), for an alpha and beta that
// are not powers of two, zero bins, and magnitudes from 1e-150 to 1e150.
func TestMagnitudeMapBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const alpha, beta = 1.3, -0.7
	for _, n := range []int{1, 3, 4, 5, 8, 257, 1025} {
		spec, tgt := make([]complex128, n), make([]float64, n)
		for i := range spec {
			s := math.Pow(10, float64(rng.IntN(301)-150))
			if i%3 == 0 {
				s = 1
			}
			spec[i] = complex(s*rng.NormFloat64(), s*rng.NormFloat64())
			tgt[i] = s * math.Abs(rng.NormFloat64())
		}
		spec[0] = 0
		got := append([]complex128(nil), spec...)
		MagnitudeMap(got, tgt, alpha, beta)
		for i, v := range spec {
			re, im := real(v), imag(v)
			r := math.Sqrt(re*re + im*im)
			q := 0.0
			if r > 0 {
				q = tgt[i] / r
			}
			sc := alpha + beta*q
			want := complex(sc*re, sc*im)
			if math.Float64bits(real(got[i])) != math.Float64bits(real(want)) || math.Float64bits(imag(got[i])) != math.Float64bits(imag(want)) {
				t.Fatalf("n=%d bin %d (%v, t %v): %v, want %v", n, i, v, tgt[i], got[i], want)
			}
		}
	}
}
