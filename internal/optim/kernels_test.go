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

// refLBFGS is the textbook L-BFGS of LBFGS's doc comment in plain Go (Nocedal & Wright, Alg.
// 7.4–7.5, H0 = γ·D⁻¹, Armijo backtracking by halving), a reference for Step: the correction
// pairs newest first, a pair kept only if sᵀy > 1e-12·yᵀD⁻¹y and yᵀD⁻¹y > 0.
type refLBFGS struct {
	m        int
	x, g     []float64
	lo       int
	f, gamma float64
	s, y     [][]float64
	rho      []float64
}

func (r *refLBFGS) dot(a, b []float64) float64 {
	v := 0.0
	for i := r.lo; i < len(r.x); i++ {
		v += a[i] * b[i]
	}
	return v
}

func (r *refLBFGS) direction(p Problem) []float64 {
	n := len(r.x)
	q := append([]float64(nil), r.g...)
	alpha := make([]float64, len(r.s))
	for j := len(r.s) - 1; j >= 0; j-- { // newest (last) to oldest
		alpha[j] = r.rho[j] * r.dot(r.s[j], q)
		for i := r.lo; i < n; i++ {
			q[i] -= alpha[j] * r.y[j][i]
		}
	}
	p.Precondition(q)
	for i := r.lo; i < n; i++ {
		q[i] *= r.gamma
	}
	for j := range r.s {
		b := r.rho[j] * r.dot(r.y[j], q)
		for i := r.lo; i < n; i++ {
			q[i] += (alpha[j] - b) * r.s[j][i]
		}
	}
	for i := r.lo; i < n; i++ {
		q[i] = -q[i]
	}
	return q
}

func (r *refLBFGS) step(p Problem) bool {
	n := len(r.x)
	d := r.direction(p)
	gd := r.dot(r.g, d)
	if !(gd < 0) {
		r.s, r.y, r.rho, r.gamma = nil, nil, nil, 1
		d = r.direction(p)
		if gd = r.dot(r.g, d); !(gd < 0) {
			return true
		}
	}
	xt, gt := make([]float64, n), make([]float64, n)
	copy(xt, r.x)
	for t, tries := 1.0, 0; ; t, tries = t/2, tries+1 {
		for i := r.lo; i < n; i++ {
			xt[i] = r.x[i] + t*d[i]
		}
		ft := p.Eval(gt, xt)
		if ft <= r.f+1e-4*t*gd {
			s, y := make([]float64, n), make([]float64, n)
			for i := r.lo; i < n; i++ {
				s[i], y[i] = xt[i]-r.x[i], gt[i]-r.g[i]
			}
			py := append([]float64(nil), y...)
			p.Precondition(py)
			sy, yy := r.dot(s, y), r.dot(y, py)
			if sy > 1e-12*yy && yy > 0 {
				r.s, r.y, r.rho = append(r.s, s), append(r.y, y), append(r.rho, 1/sy)
				if len(r.s) > r.m {
					r.s, r.y, r.rho = r.s[1:], r.y[1:], r.rho[1:]
				}
				r.gamma = sy / yy
			}
			copy(r.x, xt)
			copy(r.g, gt)
			r.f = ft
			return false
		}
		if tries >= 30 {
			return true
		}
	}
}

// bumpy is a non-convex objective, F = Σ c_i (x_i − t_i)² + Σ sin(3 x_i)·x_{i+1}, whose curvature
// changes sign, so that L-BFGS rejects some correction pairs; D⁻¹ = 1/(4c).
type bumpy struct{ quadratic }

func (q *bumpy) Eval(grad, x []float64) float64 {
	f := q.quadratic.Eval(grad, x)
	for i := 0; i+1 < len(x); i++ {
		f += math.Sin(3*x[i]) * x[i+1]
		if i >= q.lo {
			grad[i] += 3 * math.Cos(3*x[i]) * x[i+1]
		}
		if i+1 >= q.lo {
			grad[i+1] += math.Sin(3 * x[i])
		}
	}
	return f
}

// TestLBFGSStepMatchesReference runs LBFGS.Step (fused C kernels under cgo, the ring of slots,
// the swapped gradient buffers) beside refLBFGS for 25 steps on a non-convex objective, with
// history 1, 3 and 5 (the ring wraps) and views starting at lo = 0, 5 and 17, from the same
// start: the iterates agree within 1e-9 relative and both stall alike (longer runs drift apart
// by rounding amplified, as in any non-convex descent: 7e-9 after 37 steps in both builds).
func TestLBFGSStepMatchesReference(t *testing.T) {
	const n = 64
	for _, history := range []int{1, 3, 5} {
		for _, lo := range []int{0, 5, 17} {
			rng := rand.New(rand.NewPCG(uint64(history), uint64(lo)))
			q := &bumpy{quadratic{c: make([]float64, n), t: make([]float64, n), lo: lo}}
			for i := range q.c {
				q.c[i] = math.Pow(10, rng.Float64())
				q.t[i] = rng.NormFloat64()
			}
			x0 := make([]float64, n)
			for i := range x0 {
				x0[i] = 2 * rng.NormFloat64()
			}
			l := NewLBFGS(n+7, history, 30)
			x := append([]float64(nil), x0...)
			l.Start(q, x, lo)
			r := &refLBFGS{m: history, x: append([]float64(nil), x0...), g: make([]float64, n), lo: lo, gamma: 1}
			r.f = q.Eval(r.g, r.x)
			for k := 0; k < 25; k++ {
				sl, sr := l.Step(q), r.step(q)
				if sl != sr {
					t.Fatalf("history %d lo %d step %d: stalled %v, reference %v", history, lo, k, sl, sr)
				}
				scale := 0.0
				for _, v := range r.x {
					scale = math.Max(scale, math.Abs(v))
				}
				for i := range x {
					if math.Abs(x[i]-r.x[i]) > 1e-9*scale {
						t.Fatalf("history %d lo %d step %d: x[%d] = %v, reference %v", history, lo, k, i, x[i], r.x[i])
					}
				}
				if sl {
					break
				}
			}
		}
	}
}
