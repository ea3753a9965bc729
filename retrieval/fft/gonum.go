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
