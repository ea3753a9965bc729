package fft

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestCmplxAgainstDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 5, 8, 12, 30, 64, 100, 210, 257} {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := make([]complex128, n)
		for k := range want {
			for t, v := range x {
				want[k] += v * cmplx.Exp(complex(0, -2*math.Pi*float64(k*t)/float64(n)))
			}
		}
		for name, p := range map[string]*CmplxPlan{"default(" + Backend + ")": NewCmplx(n), "gonum": NewCmplxGonum(n)} {
			got := make([]complex128, n)
			p.Forward(got, x)
			for k := range got {
				if cmplx.Abs(got[k]-want[k]) > 1e-10*float64(n) {
					t.Fatalf("%s n=%d: bin %d = %v, want %v", name, n, k, got[k], want[k])
				}
			}
			// In place inverse: Inverse(Forward(x)) = n·x.
			p.Inverse(got, got)
			for i := range got {
				if cmplx.Abs(got[i]/complex(float64(n), 0)-x[i]) > 1e-12*float64(n) {
					t.Fatalf("%s n=%d: round trip sample %d = %v, want %v", name, n, i, got[i]/complex(float64(n), 0), x[i])
				}
			}
			if a := testing.AllocsPerRun(10, func() { p.Forward(got, x) }); a != 0 {
				t.Errorf("%s n=%d: Forward allocates %v times", name, n, a)
			}
			p.Close()
		}
	}
}

func TestNextFastLen(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {1, 1}, {11, 12}, {2048, 2048}, {2068, 2100}, {22420, 22500}} {
		if got := NextFastLen(c[0]); got != c[1] {
			t.Errorf("NextFastLen(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}
