package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quadratic is F(x) = Σ c_i (x_i − t_i)² with the exact inverse curvature as preconditioner
// (D⁻¹ = 1/(2c)), so that a unit preconditioned step lands on the minimum.
type quadratic struct {
	c, t []float64
	lo   int
}

func (q *quadratic) Eval(grad, x []float64) float64 {
	f := 0.0
	for i := range x {
		d := x[i] - q.t[i]
		f += q.c[i] * d * d
		if i >= q.lo {
			grad[i] = 2 * q.c[i] * d
		}
	}
	return f
}

func (q *quadratic) Precondition(g []float64) {
	for i := q.lo; i < len(g); i++ {
		g[i] /= 4 * q.c[i] // half the exact step: the optimizers must still converge
	}
}

func steppers(n int) map[string]Stepper {
	return map[string]Stepper{
		"gla": NewGLA(n), "fgla": NewFGLA(n, 0.5), "sgdm": NewSGDM(n, 0.5, 0.5),
		"adam": NewAdam(n, 0.5), "lbfgs": NewLBFGS(n, 5, 30),
	}
}

// TestSteppersConvergeOnTheFreeSamples: on an ill-conditioned quadratic every stepper drives the
// free samples x[lo:] to the minimum and leaves the constants x[:lo] alone, for views shorter
// than the size the stepper was made for.
func TestSteppersConvergeOnTheFreeSamples(t *testing.T) {
	const size, n, lo = 64, 50, 7
	rng := rand.New(rand.NewPCG(1, 2))
	q := &quadratic{c: make([]float64, n), t: make([]float64, n), lo: lo}
	for i := range q.c {
		q.c[i] = math.Pow(10, 3*rng.Float64())
		q.t[i] = rng.NormFloat64()
	}
	for name, s := range steppers(size) {
		x := make([]float64, n)
		for i := range x {
			x[i] = 10 + float64(i)
		}
		s.Start(q, x, lo)
		for range 3000 {
			if s.Step(q) {
				break
			}
		}
		for i := range x {
			want := q.t[i]
			if i < lo {
				want = 10 + float64(i)
			}
			tol := 1e-6
			if name == "adam" { // constant steps: it settles to within a fraction of LR
				tol = 1e-2
			}
			if math.Abs(x[i]-want) > tol {
				t.Errorf("%s: x[%d] = %g, want %g", name, i, x[i], want)
				break
			}
		}
	}
}

// TestSteppersDoNotAllocate: Start and Step allocate nothing (the streaming engine runs them per
// hop).
func TestSteppersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const n = 256
	q := &quadratic{c: make([]float64, n), t: make([]float64, n), lo: 10}
	for i := range q.c {
		q.c[i], q.t[i] = 1+float64(i%7), float64(i%5)
	}
	x := make([]float64, n)
	for name, s := range steppers(n) {
		if a := testing.AllocsPerRun(20, func() { s.Start(q, x, 10); s.Step(q) }); a != 0 {
			t.Errorf("%s: %.1f allocations per Start+Step", name, a)
		}
	}
}

// TestFGLASlides: the sliding state follows the window, so that after Slide and Shift a step
// continues from the moved iterate.
func TestFGLASlides(t *testing.T) {
	s := NewFGLA(8, 0.5)
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	q := &quadratic{c: []float64{1, 1, 1, 1, 1, 1, 1, 1}, t: make([]float64, 8)}
	s.Start(q, x, 0)
	s.Slide(2)
	if s.z[0] != 3 || s.z[5] != 8 || s.z[6] != 0 {
		t.Errorf("after Slide(2): z %v", s.z)
	}
	s.Shift(6, 1.5)
	if s.z[6] != 1.5 {
		t.Errorf("after Shift: z %v", s.z)
	}
}

// rejecting is a quadratic plus 3·c₀·cos(x₀), non-convex around x₀ = 0 (curvature −c₀ there), so
// that L-BFGS meets pairs with sᵀy ≤ 0 and rejects them while its memory is full.
type rejecting struct{ quadratic }

func (r *rejecting) Eval(grad, x []float64) float64 {
	f := r.quadratic.Eval(grad, x) + 3*r.c[0]*math.Cos(x[0])
	grad[0] -= 3 * r.c[0] * math.Sin(x[0])
	return f
}

// TestLBFGSRejectedPairKeepsHistory: a rejected correction pair must not overwrite a stored one.
// With the memory full, the stored pairs (s, y, ρ) must stay mutually consistent: ρ = 1/sᵀy for
// every pair the recursion reads.
func TestLBFGSRejectedPairKeepsHistory(t *testing.T) {
	const n = 16
	q := &rejecting{quadratic{c: make([]float64, n), t: make([]float64, n)}}
	for i := range q.c {
		q.c[i], q.t[i] = 1+float64(i), float64(i%3)
	}
	l := NewLBFGS(n, 2, 30)
	x := make([]float64, n)
	for i := range x {
		x[i] = 5
	}
	x[0] = 0.05
	l.Start(q, x, 0)
	for range 40 {
		l.Step(q)
		for j := 0; j < l.n; j++ {
			i := (l.head - 1 - j + 2*l.slots()) % l.slots()
			sy := 0.0
			for k := range n {
				sy += l.s[i][k] * l.y[i][k]
			}
			if math.Abs(l.rho[i]*sy-1) > 1e-9 {
				t.Fatalf("pair %d (slot %d): ρ·sᵀy = %g, want 1 — a rejected pair overwrote it", j, i, l.rho[i]*sy)
			}
		}
	}
}

// diagonalQuadratic is quadratic with its preconditioner also handed out as a vector
// (Diagonal), 1/(4c) as quadratic.Precondition multiplies by (the product rounds alike).
type diagonalQuadratic struct {
	quadratic
	d []float64
}

func (q *diagonalQuadratic) Precondition(g []float64) {
	for i := q.lo; i < len(g); i++ {
		g[i] *= q.d[i]
	}
}

func (q *diagonalQuadratic) InvDiagonal() []float64 { return q.d }

// TestDiagonalFoldIsExact: GLA and FGLA folding a Diagonal problem's D⁻¹ into their update give
// bit for bit the iterates of the Precondition-then-update path.
func TestDiagonalFoldIsExact(t *testing.T) {
	const n, lo = 40, 5
	rng := rand.New(rand.NewPCG(3, 4))
	c, tg, d, x0 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range c {
		c[i] = math.Exp(3 * rng.NormFloat64())
		tg[i] = rng.NormFloat64()
		d[i] = 1 / (4 * c[i])
		x0[i] = rng.NormFloat64()
	}
	folded := &diagonalQuadratic{quadratic{c, tg, lo}, d}
	plain := struct{ Problem }{folded} // hides InvDiagonal
	for name, mk := range map[string]func() Stepper{
		"gla":  func() Stepper { return NewGLA(n) },
		"fgla": func() Stepper { return NewFGLA(n, 0.7) },
	} {
		xa, xb := append([]float64(nil), x0...), append([]float64(nil), x0...)
		sa, sb := mk(), mk()
		sa.Start(folded, xa, lo)
		sb.Start(plain, xb, lo)
		for it := range 20 {
			sa.Step(folded)
			sb.Step(plain)
			for i := range xa {
				if xa[i] != xb[i] {
					t.Fatalf("%s iteration %d: x[%d] = %v folded, %v preconditioned", name, it, i, xa[i], xb[i])
				}
			}
		}
	}
}

// TestFGLARamp: with AlphaMax > Alpha the n-th step since Start extrapolates by Nesterov's
// (n−1)/(n+2) clamped to [Alpha, AlphaMax], restarting at each Start; otherwise by Alpha.
func TestFGLARamp(t *testing.T) {
	const n = 8
	q := &quadratic{c: make([]float64, n), t: make([]float64, n)}
	for i := range q.c {
		q.c[i] = 1 + float64(i)
	}
	s := NewFGLA(n, 0.7)
	s.AlphaMax = 0.95
	for k, want := range map[int]float64{1: 0.7, 8: 0.7, 16: 15.0 / 18, 40: 39.0 / 42, 58: 0.95, 1000: 0.95} {
		if got := s.alpha(k); got != want {
			t.Errorf("step %d: α %v, want %v", k, got, want)
		}
	}
	x := make([]float64, n)
	s.Start(q, x, 0)
	for range 3 {
		s.Step(q)
	}
	if s.steps != 3 {
		t.Errorf("%d steps counted, want 3", s.steps)
	}
	s.Start(q, x, 0)
	s.Step(q)
	if s.steps != 1 {
		t.Errorf("Start did not restart the ramp: %d steps", s.steps)
	}
	c := NewFGLA(n, 0.7)
	c.AlphaMax = 0.5
	if c.alpha(100) != 0.7 {
		t.Errorf("AlphaMax below Alpha: α %v, want the constant 0.7", c.alpha(100))
	}
}
