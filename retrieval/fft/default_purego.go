//go:build !cgo || purego

package fft

const defaultBackend = "gonum"

func newDefault(n int) backend { return newGonum(n) }

func newDefaultCmplx(n int) cmplxBackend { return newGonumCmplx(n) }

func magnitudeMap(spec []complex128, t []float64, alpha, beta float64) float64 {
	return magnitudeMapGo(spec, t, alpha, beta)
}
