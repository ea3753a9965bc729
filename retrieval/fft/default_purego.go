//go:build !cgo || purego

package fft

const defaultBackend = "gonum"

func newDefault(n int) backend { return newGonum(n) }

func newDefaultCmplx(n int) cmplxBackend { return newGonumCmplx(n) }
