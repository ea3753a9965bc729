package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTwoLoopMatchesReference checks the fused two-loop recursion (loop1, loop2, C kernels under
// cgo) and diffDot against the textbook recursion (Nocedal & Wright, Alg. 7.4) written out in
// plain Go, over lengths around the kernels' unrolling of 8, views with lo > 0, 0 to history
// pairs, and a full ring that has wrapped: d and gᵀd within 1e-12 relative, α per pair too.
func TestTwoLoopMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, size := range []int{1, 7, 8, 9, 31, 64, 1000} {
		for _, lo := range []int{0, 1, size / 3} {
			for _, pairs := range []int{0, 1, 3, 5, 9} {
				const history = 5
				l := NewLBFGS(size, history, 30)
				n := size
				q := &quadratic{c: make([]float64, n), t: make([]float64, n), lo: lo}
				for i := range q.c {
					q.c[i] = 0.5 + rng.Float64()
				}
				l.x, l.lo = make([]float64, n), lo
				for i := range l.g {
					l.g[i] = rng.NormFloat64()
				}
				// Fill pairs slots as Step does: slot head, then advance (wrapping past history).
				for k := 0; k < pairs; k++ {
					i := l.head
					for j := range l.s[i] {
						l.s[i][j] = rng.NormFloat64()
						l.y[i][j] = l.s[i][j] + 0.3*rng.NormFloat64()
					}
					l.rho[i] = 0.5 + rng.Float64()
					l.head = (l.head + 1) % l.slots()
					l.n = min(l.n+1, l.m)
				}
				l.gamma = 0.7
				gd := l.direction(q)

				// Reference.
				qq := append([]float64(nil), l.g...)
				alpha := make([]float64, l.slots())
				var order []int
				for j := 0; j < l.n; j++ {
					order = append(order, (l.head-1-j+2*l.slots())%l.slots())
				}
				dot := func(a, b []float64) float64 {
					s := 0.0
					for i := lo; i < n; i++ {
						s += a[i] * b[i]
					}
					return s
				}
				for _, i := range order {
					alpha[i] = l.rho[i] * dot(l.s[i], qq)
					for j := lo; j < n; j++ {
						qq[j] -= alpha[i] * l.y[i][j]
					}
				}
				q.Precondition(qq)
				for j := lo; j < n; j++ {
					qq[j] *= l.gamma
				}
				for k := len(order) - 1; k >= 0; k-- {
					i := order[k]
					b := l.rho[i] * dot(l.y[i], qq)
					for j := lo; j < n; j++ {
						qq[j] += (alpha[i] - b) * l.s[i][j]
					}
				}
				scale, wantGD := 0.0, 0.0
				for j := lo; j < n; j++ {
					scale = math.Max(scale, math.Abs(qq[j]))
					wantGD -= l.g[j] * qq[j]
				}
				for j := lo; j < n; j++ {
					if math.Abs(l.d[j]+qq[j]) > 1e-12*scale {
						t.Fatalf("size %d lo %d pairs %d: d[%d] = %g, want %g", size, lo, pairs, j, l.d[j], -qq[j])
					}
				}
				if math.Abs(gd-wantGD) > 1e-12*math.Max(1, math.Abs(wantGD))*float64(n) {
					t.Fatalf("size %d lo %d pairs %d: gᵀd = %g, want %g", size, lo, pairs, gd, wantGD)
				}
				for _, i := range order {
					if math.Abs(l.alpha[i]-alpha[i]) > 1e-12*math.Max(1, math.Abs(alpha[i]))*float64(n) {
						t.Fatalf("size %d lo %d pairs %d: α[%d] = %g, want %g", size, lo, pairs, i, l.alpha[i], alpha[i])
					}
				}

				// diffDot.
				a, b, c, e := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
				for i := range a {
					a[i], b[i], c[i], e[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
				}
				s, y := make([]float64, n), make([]float64, n)
				got, want := diffDot(s, a, b, y, c, e), 0.0
				for i := range a {
					if s[i] != a[i]-b[i] || y[i] != c[i]-e[i] {
						t.Fatalf("size %d: diffDot s[%d] = %g, y = %g", size, i, s[i], y[i])
					}
					want += s[i] * y[i]
				}
				if math.Abs(got-want) > 1e-12*float64(n)*(1+math.Abs(want)) {
					t.Fatalf("size %d: diffDot = %g, want %g", size, got, want)
				}
			}
		}
	}
}

// TestFGLAUpdateIsTheGoLoop: fglaUpdate (C under cgo) gives bit for bit the plain Go loop of its
// doc comment, with and without d, over lengths around the vector widths.
func TestFGLAUpdateIsTheGoLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, n := range []int{0, 1, 3, 4, 5, 8, 17, 1000} {
		for _, withD := range []bool{false, true} {
			z, x, g, d := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range z {
				z[i], x[i], g[i], d[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), math.Exp(rng.NormFloat64())
			}
			wz, wx := append([]float64(nil), z...), append([]float64(nil), x...)
			const a = 0.7
			for i := range wz {
				gi := g[i]
				if withD {
					gi = g[i] * d[i]
				}
				y := wz[i] - gi
				wz[i] = y + a*(y-wx[i])
				wx[i] = y
			}
			var dd []float64
			if withD {
				dd = d
			}
			fglaUpdate(z, x, g, dd, a)
			for i := range z {
				if math.Float64bits(z[i]) != math.Float64bits(wz[i]) || math.Float64bits(x[i]) != math.Float64bits(wx[i]) {
					t.Fatalf("n %d d %v: z[%d] %v x %v, want %v %v", n, withD, i, z[i], x[i], wz[i], wx[i])
				}
			}
		}
	}
}
