package fft

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// naiveDFT is the O(n²) definition, the independent reference for both backends.
func naiveDFT(x []float64) []complex128 {
	n := len(x)
	out := make([]complex128, n/2+1)
	for k := range out {
		var s complex128
		for t, v := range x {
			s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*t)/float64(n)))
		}
		out[k] = s
	}
	return out
}

func plans(n int) map[string]*Plan {
	return map[string]*Plan{"default(" + Backend + ")": New(n), "gonum": NewGonum(n)}
}

func TestForwardInverseAgainstDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 4, 6, 8, 10, 16, 30, 64, 100, 128, 250, 256, 384, 512, 1000} {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		want := naiveDFT(x)
		for name, p := range plans(n) {
			got := make([]complex128, p.Bins())
			p.Forward(got, x)
			for k := range want {
				if d := cmplx.Abs(got[k] - want[k]); d > 1e-9*float64(n) {
					t.Fatalf("%s n=%d bin %d: got %v want %v", name, n, k, got[k], want[k])
				}
			}
			back := make([]float64, n)
			p.Inverse(back, got)
			for i := range x {
				if d := math.Abs(back[i]/float64(n) - x[i]); d > 1e-12 {
					t.Fatalf("%s n=%d sample %d: round trip %g want %g", name, n, i, back[i]/float64(n), x[i])
				}
			}
			p.Close()
			p.Close() // idempotent
		}
	}
}

// TestUnalignedBuffers executes on sub-slices that start at an odd float64 offset, which FFTW's
// aligned plan must not be used for.
func TestUnalignedBuffers(t *testing.T) {
	const n = 256
	rng := rand.New(rand.NewPCG(3, 4))
	for name, p := range plans(n) {
		x := make([]float64, n+1)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		spec := make([]complex128, p.Bins()+1)
		p.Forward(spec[1:], x[1:])
		want := naiveDFT(x[1:])
		for k := range want {
			if cmplx.Abs(spec[1+k]-want[k]) > 1e-9*n {
				t.Fatalf("%s: unaligned forward differs at bin %d", name, k)
			}
		}
		out := make([]float64, n+1)
		p.Inverse(out[1:], spec[1:])
		for i := 0; i < n; i++ {
			if math.Abs(out[1+i]/n-x[1+i]) > 1e-12 {
				t.Fatalf("%s: unaligned inverse differs at %d", name, i)
			}
		}
		p.Close()
	}
}

func TestPanicsOnMisuse(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("odd length", func() { New(7) })
	mustPanic("zero length", func() { New(0) })
	p := New(8)
	defer p.Close()
	mustPanic("short dst", func() { p.Forward(make([]complex128, 4), make([]float64, 8)) })
	mustPanic("long src", func() { p.Inverse(make([]float64, 8), make([]complex128, 6)) })
}
