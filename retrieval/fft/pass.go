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
	magnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int, frame []float64, spec []complex128) float64
}

// MagnitudePasses runs MagnitudePass on frames m = 0 … frames−1 of a hop-strided signal, in one
// cgo call with the FFTW backend (benchmarks/REPORT.md: one crossing costs about 4 % of a frame's
// pass at n_fft 512): frame m reads x[m·hop : m·hop+N] and t[m·B : (m+1)·B] (B = N/2+1) and, when
// acc is not nil and m·hop + N > fixed, adds into acc[m·hop : m·hop+N] from its sample
// max(0, fixed − m·hop) on; a frame wholly below fixed only adds to the sum (no inverse FFT). It
// returns the frames' sums added in frame order, the same float64 as a loop of MagnitudePass.
//
// Lengths: x and acc (if not nil) at least (frames−1)·hop + N samples, t at least frames·B values,
// win, frame and spec as for MagnitudePass, hop ≥ 1, frames ≥ 0; otherwise it panics. acc must
// not overlap x, win or t. It does not allocate.
func (p *Plan) MagnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int, frame []float64, spec []complex128) float64 {
	n := p.n
	checkPasses("MagnitudePasses", n, acc, x, win, t, hop, frames)
	if len(frame) != n || len(spec) != n/2+1 {
		panic(fmt.Sprintf("fft: MagnitudePasses scratch frame=%d spec=%d for n=%d", len(frame), len(spec), n))
	}
	if frames == 0 {
		return 0
	}
	if fp, ok := p.impl.(fusedPass); ok {
		return fp.magnitudePasses(acc, x, win, t, hop, frames, alpha, beta, fixed, frame, spec)
	}
	return loopPasses(n, acc, x, t, hop, frames, fixed, func(acc, x, t []float64, from int) float64 {
		return p.magnitudePassGo(acc, x, win, t, alpha, beta, from, frame, spec)
	})
}

// checkPasses panics unless the lengths suit frames hop-strided passes of length n.
func checkPasses(what string, n int, acc, x, win, t []float64, hop, frames int) {
	if hop < 1 || frames < 0 || len(win) != n {
		panic(fmt.Sprintf("fft: %s hop=%d frames=%d win=%d for n=%d", what, hop, frames, len(win), n))
	}
	if frames == 0 {
		return
	}
	need := (frames-1)*hop + n
	if len(x) < need || len(t) < frames*(n/2+1) || (acc != nil && len(acc) < need) {
		panic(fmt.Sprintf("fft: %s of %d frames (hop %d, n %d) needs %d samples and %d target values; have x=%d acc=%d t=%d",
			what, frames, hop, n, need, frames*(n/2+1), len(x), len(acc), len(t)))
	}
}

// loopPasses is MagnitudePasses as a Go loop over one-frame passes (the backends without a native
// batch).
func loopPasses(n int, acc, x, t []float64, hop, frames, fixed int, pass func(acc, x, t []float64, from int) float64) float64 {
	bins := n/2 + 1
	total := 0.0
	for m := range frames {
		o := m * hop
		var a []float64
		from := 0
		if acc != nil && o+n > fixed {
			a, from = acc[o:o+n], max(0, fixed-o)
		}
		total += pass(a, x[o:o+n], t[m*bins:(m+1)*bins], from)
	}
	return total
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
				s += beta * (t[k] / r)
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
