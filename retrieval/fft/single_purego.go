//go:build !cgo || purego

package fft

const singlePrecision = false

// goSingle computes "single-precision" passes in float64 with the gonum backend: this build has
// no single-precision FFT.
type goSingle struct {
	p     *Plan
	frame []float64
	spec  []complex128
}

func newSingleDefault(n int) singleBackend {
	return &goSingle{p: NewGonum(n), frame: make([]float64, n), spec: make([]complex128, n/2+1)}
}

func (g *goSingle) magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int) float64 {
	return g.p.magnitudePassGo(acc, x, win, t, alpha, beta, from, g.frame, g.spec)
}

func (g *goSingle) magnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int) float64 {
	return g.p.MagnitudePasses(acc, x, win, t, hop, frames, alpha, beta, fixed, g.frame, g.spec)
}

func (g *goSingle) close() { g.p.Close() }
