package fft

import (
	"fmt"
	"math"
)

// MagnitudeMap applies the per-bin map of MagnitudePass to a whole complex sequence in place,
//
//	spec[k] ← (alpha + beta·t[k]/|spec[k]|)·spec[k]      (beta term := 0 where spec[k] = 0)
//
// and returns Σ_k (|spec[k]| − t[k])² (unweighted). With alpha = 1, beta = −1 it turns
// coefficients W into the magnitude-loss residual (|W| − t)·W/|W|. len(t) must equal len(spec),
// otherwise it panics. The FFTW build runs the AVX2 kernel of MagnitudePass (one cgo call);
// it does not allocate.
func MagnitudeMap(spec []complex128, t []float64, alpha, beta float64) float64 {
	if len(t) != len(spec) {
		panic(fmt.Sprintf("fft: MagnitudeMap with %d values and %d targets", len(spec), len(t)))
	}
	if len(spec) == 0 {
		return 0
	}
	return magnitudeMap(spec, t, alpha, beta)
}

func magnitudeMapGo(spec []complex128, t []float64, alpha, beta float64) float64 {
	sum := 0.0
	for k, v := range spec {
		re, im := real(v), imag(v)
		r := math.Sqrt(re*re + im*im)
		d := r - t[k]
		sum += d * d
		s := alpha
		if r > 0 {
			s += beta * (t[k] / r)
		}
		spec[k] = complex(s*re, s*im)
	}
	return sum
}
