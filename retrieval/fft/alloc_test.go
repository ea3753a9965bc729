//go:build !race

package fft

import "testing"

func TestNoAllocations(t *testing.T) {
	for name, p := range plans(512) {
		x := make([]float64, 512)
		x[3] = 1
		spec := make([]complex128, p.Bins())
		if a := testing.AllocsPerRun(100, func() { p.Forward(spec, x); p.Inverse(x, spec) }); a != 0 {
			t.Errorf("%s: %v allocations per forward+inverse pair, want 0", name, a)
		}
		p.Close()
	}
}

func TestMagnitudePassNoAllocations(t *testing.T) {
	const n = 512
	p := New(n)
	defer p.Close()
	x, win, acc, frame := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	tg := make([]float64, n/2+1)
	spec := make([]complex128, n/2+1)
	if a := testing.AllocsPerRun(100, func() { p.MagnitudePass(acc, x, win, tg, 2, -2, 0, frame, spec) }); a != 0 {
		t.Errorf("%v allocations per MagnitudePass, want 0", a)
	}
	xs, accs, tgs := make([]float64, n+2*n/4), make([]float64, n+2*n/4), make([]float64, 3*(n/2+1))
	if a := testing.AllocsPerRun(100, func() { p.MagnitudePasses(accs, xs, win, tgs, n/4, 3, 2, -2, 5, frame, spec) }); a != 0 {
		t.Errorf("%v allocations per MagnitudePasses, want 0", a)
	}
}

func TestSinglePassNoAllocations(t *testing.T) {
	const n = 512
	s := NewSinglePass(n)
	defer s.Close()
	x, win, acc := make([]float64, n), make([]float64, n), make([]float64, n)
	tg := make([]float64, n/2+1)
	if a := testing.AllocsPerRun(100, func() { s.MagnitudePass(acc, x, win, tg, 2, -2, 0) }); a != 0 {
		t.Errorf("%v allocations per SinglePass.MagnitudePass, want 0", a)
	}
	// Three frames at hop n/4 through the batched pass.
	xs, accs, tgs := make([]float64, n+2*n/4), make([]float64, n+2*n/4), make([]float64, 3*(n/2+1))
	if a := testing.AllocsPerRun(100, func() { s.MagnitudePasses(accs, xs, win, tgs, n/4, 3, 2, -2, 5) }); a != 0 {
		t.Errorf("%v allocations per SinglePass.MagnitudePasses, want 0", a)
	}
}
