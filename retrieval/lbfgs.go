package retrieval

import "gonum.org/v1/gonum/floats"

// lbfgsStepper is limited-memory BFGS (Nocedal 1980; Nocedal & Wright, "Numerical Optimization",
// Alg. 7.4–7.5) on F, with the two-loop recursion's initial inverse Hessian H0 = γ·D⁻¹: the
// preconditioner, so that the first step is exactly a Griffin-Lim step, scaled thereafter by
// γ = sᵀy / yᵀD⁻¹y. The line search backtracks from the unit step until the Armijo condition
// F(x + t·d) ≤ F(x) + 1e-4·t·∇Fᵀd holds, halving t (at most 30 times).
type lbfgsStepper struct {
	m          int
	x, g       []float64
	f          float64
	d, xt, gt  []float64
	q          []float64
	s, y       [][]float64
	rho, alpha []float64
	head, n    int
	gamma      float64
	py         []float64 // D⁻¹y scratch
}

func newLBFGS(m int) *lbfgsStepper { return &lbfgsStepper{m: m} }

func (l *lbfgsStepper) init(p objective, x []float64) {
	n := len(x)
	l.x = x
	l.g, l.d, l.xt, l.gt, l.q = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	l.s, l.y = make([][]float64, l.m), make([][]float64, l.m)
	for i := range l.s {
		l.s[i], l.y[i] = make([]float64, n), make([]float64, n)
	}
	l.rho, l.alpha = make([]float64, l.m), make([]float64, l.m)
	l.gamma = 1
	l.py = make([]float64, n)
	l.f = p.Eval(l.g, l.x)
}

func (l *lbfgsStepper) current() []float64 { return l.x }

// dot is gonum's SIMD dot product; the vector kernels of the two-loop recursion dominate an
// iteration's cost after the FFTs (benchmarks/REPORT.md, BenchmarkLBFGS).
func dot(a, b []float64) float64 { return floats.Dot(a, b) }

// direction sets d = −H·g by the two-loop recursion.
func (l *lbfgsStepper) direction(p objective) {
	copy(l.q, l.g)
	for j := 0; j < l.n; j++ { // newest to oldest
		i := (l.head - 1 - j + 2*l.m) % l.m
		l.alpha[i] = l.rho[i] * dot(l.s[i], l.q)
		floats.AddScaled(l.q, -l.alpha[i], l.y[i])
	}
	p.Precondition(l.q)
	floats.Scale(l.gamma, l.q)
	for j := l.n - 1; j >= 0; j-- { // oldest to newest
		i := (l.head - 1 - j + 2*l.m) % l.m
		b := l.rho[i] * dot(l.y[i], l.q)
		floats.AddScaled(l.q, l.alpha[i]-b, l.s[i])
	}
	floats.ScaleTo(l.d, -1, l.q)
}

func (l *lbfgsStepper) step(p objective) bool {
	l.direction(p)
	gd := dot(l.g, l.d)
	if !(gd < 0) { // not a descent direction: forget the history, take the preconditioned step
		l.n, l.gamma = 0, 1
		l.direction(p)
		gd = dot(l.g, l.d)
		if !(gd < 0) {
			return true
		}
	}
	t := 1.0
	for tries := 0; ; tries++ {
		floats.AddScaledTo(l.xt, l.x, t, l.d)
		ft := p.Eval(l.gt, l.xt)
		if ft <= l.f+1e-4*t*gd {
			// Accept; store the correction pair if it keeps H positive definite.
			i := l.head
			floats.SubTo(l.s[i], l.xt, l.x)
			floats.SubTo(l.y[i], l.gt, l.g)
			sy := dot(l.s[i], l.y[i])
			copy(l.py, l.y[i])
			p.Precondition(l.py)
			yy := dot(l.y[i], l.py)
			if sy > 1e-12*yy && yy > 0 {
				l.rho[i] = 1 / sy
				l.gamma = sy / yy
				l.head = (l.head + 1) % l.m
				l.n = min(l.n+1, l.m)
			}
			copy(l.x, l.xt)
			copy(l.g, l.gt)
			l.f = ft
			return false
		}
		if tries == 30 {
			return true
		}
		t /= 2
	}
}
