// Package fft provides planned real-input FFTs of one fixed length behind a single small type,
// with two interchangeable backends:
//
//   - FFTW3 (double precision r2c/c2r) through cgo, the default whenever cgo is available, and
//     its single-precision library (fftwf) for SinglePass, the float32 frame pass. FFTW is
//     GPL-licensed: a binary linked with it is covered by the GPL (see the README).
//   - gonum.org/v1/gonum/dsp/fourier, pure Go, selected automatically when cgo is off
//     (CGO_ENABLED=0) or with the build tag purego.
//
// A Plan is created once for a length n (planning may take milliseconds and allocates), then
// executed any number of times on caller-owned buffers without allocating. Transforms are
// unnormalised, as in FFTW and gonum: Inverse(Forward(x)) = n·x.
//
// Every algorithm in rephase costs about one Forward and one Inverse of size n_fft per frame per
// iteration, so this is the innermost loop of the project; benchmarks/fft_test.go compares the
// backends (and github.com/mjibson/go-dsp/fft) side by side.
package fft

import "fmt"

// Backend names the FFT implementation that New uses in this build: "fftw" or "gonum".
const Backend = defaultBackend

// Plan computes forward (real → one-sided complex) and inverse (one-sided complex → real) DFTs of
// length n.
//
// Layout: the real side has n samples; the complex side has n/2+1 bins (k = 0..n/2), the
// non-negative frequencies of the Hermitian-symmetric spectrum.
//
// Thread safety: a Plan is not safe for concurrent use (the gonum backend keeps a work area in the
// plan); give each goroutine its own Plan. Creating and closing plans from several goroutines at
// once is safe (FFTW's planner is guarded by a package mutex).
type Plan struct {
	n    int
	impl backend
}

type backend interface {
	forward(dst []complex128, src []float64)
	inverse(dst []float64, src []complex128)
	close()
}

// New plans real FFTs of length n with the build's default backend (see Backend).
// It panics if n < 2 or n is odd.
func New(n int) *Plan {
	checkLen(n)
	return &Plan{n: n, impl: newDefault(n)}
}

// NewGonum plans real FFTs of length n with the pure-Go gonum backend, whatever the build.
// It panics if n < 2 or n is odd.
func NewGonum(n int) *Plan {
	checkLen(n)
	return &Plan{n: n, impl: newGonum(n)}
}

func checkLen(n int) {
	if n < 2 || n%2 != 0 {
		panic(fmt.Sprintf("fft: length %d is not an even number ≥ 2", n))
	}
}

// Len returns the transform length n (samples on the real side).
func (p *Plan) Len() int { return p.n }

// Bins returns n/2+1, the number of one-sided complex bins.
func (p *Plan) Bins() int { return p.n/2 + 1 }

// Forward computes dst[k] = Σ_n src[n]·exp(−2πi·k·n/N) for k = 0..N/2.
// len(src) must be N and len(dst) N/2+1, otherwise Forward panics. src is not modified.
// src and dst must not overlap. It does not allocate.
func (p *Plan) Forward(dst []complex128, src []float64) {
	if len(src) != p.n || len(dst) != p.n/2+1 {
		panic(fmt.Sprintf("fft: Forward with len(src)=%d, len(dst)=%d; plan wants %d and %d", len(src), len(dst), p.n, p.n/2+1))
	}
	p.impl.forward(dst, src)
}

// Inverse computes the unnormalised inverse of a one-sided spectrum,
// dst[n] = Σ_{k=0}^{N−1} S[k]·exp(+2πi·k·n/N) with S the Hermitian extension of src
// (the imaginary parts of src[0] and src[N/2] are ignored). Inverse(Forward(x)) = N·x.
// len(src) must be N/2+1 and len(dst) N, otherwise Inverse panics.
//
// src is scratch: its contents are unspecified after the call (FFTW's c2r overwrites its input).
// src and dst must not overlap. It does not allocate.
func (p *Plan) Inverse(dst []float64, src []complex128) {
	if len(dst) != p.n || len(src) != p.n/2+1 {
		panic(fmt.Sprintf("fft: Inverse with len(src)=%d, len(dst)=%d; plan wants %d and %d", len(src), len(dst), p.n/2+1, p.n))
	}
	p.impl.inverse(dst, src)
}

// Close releases the plan's resources (FFTW plans and aligned buffers) at once. The Plan must not
// be used afterwards. Close is idempotent. Plans that are never closed are released by a
// finalizer, later.
func (p *Plan) Close() {
	if p.impl != nil {
		p.impl.close()
		p.impl = nil
	}
}
