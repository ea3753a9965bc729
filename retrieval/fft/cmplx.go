package fft

import "fmt"

// CmplxPlan computes complex-to-complex DFTs of one fixed length n, the transform of the
// continuous wavelet transform (one inverse per scale, one forward per scale for its adjoint).
// Backends as for Plan: FFTW (fftw_plan_dft_1d) under cgo, gonum's CmplxFFT otherwise.
//
// Thread safety: not safe for concurrent use; give each goroutine its own CmplxPlan. Execution
// does not allocate.
type CmplxPlan struct {
	n    int
	impl cmplxBackend
}

type cmplxBackend interface {
	forward(dst, src []complex128)
	inverse(dst, src []complex128)
	close()
}

// NewCmplx plans complex DFTs of length n ≥ 1 with the build's default backend (see Backend).
// With FFTW, planning (FFTW_MEASURE) takes milliseconds to seconds for large n; lengths whose
// prime factors are all ≤ 7 plan and run fastest (see NextFastLen). It panics if n < 1.
func NewCmplx(n int) *CmplxPlan {
	if n < 1 {
		panic(fmt.Sprintf("fft: complex length %d < 1", n))
	}
	return &CmplxPlan{n: n, impl: newDefaultCmplx(n)}
}

// NewCmplxGonum plans complex DFTs of length n with the pure-Go gonum backend, whatever the build.
func NewCmplxGonum(n int) *CmplxPlan {
	if n < 1 {
		panic(fmt.Sprintf("fft: complex length %d < 1", n))
	}
	return &CmplxPlan{n: n, impl: newGonumCmplx(n)}
}

// Len returns the transform length n.
func (p *CmplxPlan) Len() int { return p.n }

func (p *CmplxPlan) check(dst, src []complex128, what string) {
	if len(dst) != p.n || len(src) != p.n {
		panic(fmt.Sprintf("fft: complex %s with len(src)=%d, len(dst)=%d; plan wants %d", what, len(src), len(dst), p.n))
	}
}

// Forward computes dst[k] = Σ_t src[t]·exp(−2πi·k·t/n). Both slices have length n, otherwise it
// panics. src is not modified; src and dst may be the same slice (in place) but must not
// otherwise overlap. It does not allocate. Fastest out of place on separate buffers (FFTW's
// measured plan); in place it runs about 2× slower.
func (p *CmplxPlan) Forward(dst, src []complex128) {
	p.check(dst, src, "Forward")
	p.impl.forward(dst, src)
}

// Inverse computes the unnormalised inverse dst[t] = Σ_k src[k]·exp(+2πi·k·t/n), so
// Inverse(Forward(x)) = n·x. Same rules as Forward.
func (p *CmplxPlan) Inverse(dst, src []complex128) {
	p.check(dst, src, "Inverse")
	p.impl.inverse(dst, src)
}

// Close releases the plan's resources at once; idempotent. The plan must not be used afterwards.
func (p *CmplxPlan) Close() {
	if p.impl != nil {
		p.impl.close()
		p.impl = nil
	}
}

// NextFastLen returns the smallest m ≥ n whose prime factors are all 2, 3, 5 or 7: lengths FFTW
// (and gonum's FFTPACK) transform fastest.
func NextFastLen(n int) int {
	if n <= 1 {
		return 1
	}
	for m := n; ; m++ {
		r := m
		for _, f := range [...]int{2, 3, 5, 7} {
			for r%f == 0 {
				r /= f
			}
		}
		if r == 1 {
			return m
		}
	}
}
