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
