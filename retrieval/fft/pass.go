package fft

import (
	"fmt"
	"math"
)

// MagnitudePass runs one frame of a magnitude-constrained analysis-synthesis pass, fused so that
// the FFTW build makes a single cgo call per frame and lets the C compiler vectorise the
// element-wise work (benchmarks/REPORT.md: the unfused pass cost 2.4× a bare FFT pair):
//
//	X    = Forward(win ⊙ x)                          (frame, one-sided spectrum)
//	Y[k] = (alpha + beta·t[k]/|X[k]|)·X[k]           (beta term := 0 where X[k] = 0)
//	acc[n] += win[n]·Inverse(Y)[n]   for from ≤ n < N (unnormalised inverse)
//
// and returns Σ_k c_k·(|X[k]| − t[k])² with c_0 = c_{N/2} = 1, c_k = 2 otherwise: the magnitude
// MSE over the two-sided spectrum. With alpha = 2, beta = −2, acc receives the gradient of that
// MSE with respect to x; with alpha = 0, beta = 1 it receives the windowed synthesis of the
// projection t·X/|X| (one Griffin-Lim frame). With acc == nil only the sum is computed (no
// inverse FFT).
//
// Lengths: x, win, and acc (if not nil) N samples, t N/2+1 values, frame N and spec N/2+1 scratch
// values owned by the caller; otherwise MagnitudePass panics. Nothing may overlap except x and
// frame. It does not allocate.
func (p *Plan) MagnitudePass(acc, x, win, t []float64, alpha, beta float64, from int, frame []float64, spec []complex128) float64 {
	n := p.n
	if len(x) != n || len(win) != n || len(t) != n/2+1 || len(frame) != n || len(spec) != n/2+1 || (acc != nil && len(acc) != n) || from < 0 || from > n {
		panic(fmt.Sprintf("fft: MagnitudePass lengths x=%d win=%d t=%d frame=%d spec=%d acc=%d from=%d for n=%d",
			len(x), len(win), len(t), len(frame), len(spec), len(acc), from, n))
	}
	if fp, ok := p.impl.(fusedPass); ok {
		return fp.magnitudePass(acc, x, win, t, alpha, beta, from, frame, spec)
	}
	return p.magnitudePassGo(acc, x, win, t, alpha, beta, from, frame, spec)
}

// fusedPass is implemented by backends with a native MagnitudePass.
type fusedPass interface {
	magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int, frame []float64, spec []complex128) float64
}

// magnitudePassGo is the portable implementation (used with the gonum backend).
func (p *Plan) magnitudePassGo(acc, x, win, t []float64, alpha, beta float64, from int, frame []float64, spec []complex128) float64 {
	for i, w := range win {
		frame[i] = w * x[i]
	}
	p.impl.forward(spec, frame)
	var sum, d0, dl float64
	for k, v := range spec {
		re, im := real(v), imag(v)
		r := math.Sqrt(re*re + im*im)
		d := r - t[k]
		sum += d * d
		if k == 0 {
			d0 = d
		}
		dl = d
		if acc != nil {
			s := alpha
			if r > 0 {
				s += beta * t[k] / r
			}
			spec[k] = complex(s*re, s*im)
		}
	}
	if acc != nil {
		p.impl.inverse(frame, spec)
		for i := from; i < p.n; i++ {
			acc[i] += win[i] * frame[i]
		}
	}
	return 2*sum - d0*d0 - dl*dl
}
