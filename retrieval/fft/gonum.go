package fft

import "gonum.org/v1/gonum/dsp/fourier"

// gonumPlan wraps gonum's FFTPACK port. Coefficients and Sequence copy through a work area owned by
// the plan and never allocate when given destinations of the right length.
type gonumPlan struct {
	t *fourier.FFT
}

func newGonum(n int) backend { return gonumPlan{t: fourier.NewFFT(n)} }

func (g gonumPlan) forward(dst []complex128, src []float64) { g.t.Coefficients(dst, src) }
func (g gonumPlan) inverse(dst []float64, src []complex128) { g.t.Sequence(dst, src) }
func (g gonumPlan) close()                                  {}

// gonumCmplx wraps gonum's complex FFTPACK port; it copies through dst, so in-place use works.
type gonumCmplx struct {
	t   *fourier.CmplxFFT
	tmp []complex128
}

func newGonumCmplx(n int) cmplxBackend {
	return &gonumCmplx{t: fourier.NewCmplxFFT(n), tmp: make([]complex128, n)}
}

func (g *gonumCmplx) forward(dst, src []complex128) {
	copy(g.tmp, src)
	g.t.Coefficients(dst, g.tmp)
}
func (g *gonumCmplx) inverse(dst, src []complex128) {
	copy(g.tmp, src)
	g.t.Sequence(dst, g.tmp)
}
func (g *gonumCmplx) close() {}
