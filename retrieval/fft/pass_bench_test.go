package fft

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkMagnitudePass512(b *testing.B) {
	const n = 512
	rng := rand.New(rand.NewPCG(1, 2))
	x, win, acc, frame := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	t := make([]float64, n/2+1)
	for i := range x {
		x[i], win[i] = rng.NormFloat64(), 0.5
	}
	for i := range t {
		t[i] = rng.Float64() * 10
	}
	spec := make([]complex128, n/2+1)
	p := New(n)
	b.Run("pass", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.MagnitudePass(acc, x, win, t, 2, -2, 0, frame, spec)
		}
	})
	b.Run("pass-go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.magnitudePassGo(acc, x, win, t, 2, -2, 0, frame, spec)
		}
	})
	b.Run("pair", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.Forward(spec, x)
			p.Inverse(frame, spec)
		}
	})
}
