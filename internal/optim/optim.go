// Package optim holds rephase's optimizers, one implementation each for offline inversion
// (retrieval.Invert, the scalogram inversion) and the streaming engine (stream.Engine): plain
// preconditioned steps (Griffin-Lim), fast Griffin-Lim, SGD with momentum, Adam and L-BFGS.
//
// Every optimizer works on a view of a caller-owned vector x: the samples x[lo:] are the free
// unknowns, x[:lo] are constants (in the streaming engine, samples already emitted; offline lo is
// 0). Problem supplies F(x), ∇F(x) and the preconditioner D⁻¹ — the inverse of the frame
// operator's curvature, so that x − D⁻¹∇F(x) is exactly one Griffin-Lim iteration
// (docs/design.md, "Preconditioning"). This gives every optimizer a unit-free step size.
//
// Optimizers are created once with the largest vector length they will see and allocate nothing
// afterwards; they are not safe for concurrent use.
package optim

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// Problem is what the optimizers minimise.
type Problem interface {
	// Eval returns F(x) and writes ∂F/∂x[t] into grad[t] for every free t ≥ lo (entries below lo
	// are not read). x and grad have the view's full length.
	Eval(grad, x []float64) float64
	// Precondition multiplies g[t] by D⁻¹ in place for the free t ≥ lo (it may be a convolution,
	// as for scalograms, when lo is 0).
	Precondition(g []float64)
}

// Diagonal is implemented by problems whose preconditioner can be a plain diagonal: InvDiagonal
// returns D⁻¹ per sample (at least the view's length; Precondition(g) would be g[t] ·= D⁻¹[t] for
// t ≥ lo), or nil when it is not one at the moment. GLA and FGLA then fold the product into
// their own update loop, one pass over memory less per step, with the same rounding.
type Diagonal interface {
	InvDiagonal() []float64
}

// invDiagonal returns p's diagonal D⁻¹, or nil if it has none.
func invDiagonal(p Problem) []float64 {
	if d, ok := p.(Diagonal); ok {
		return d.InvDiagonal()
	}
	return nil
}

// Stepper is one optimizer.
type Stepper interface {
	// Start begins (or, for optimizers with state that slides, continues) a run on x, whose
	// entries x[lo:] it updates in place from now on; it may evaluate p at x. len(x) must not
	// exceed the size the stepper was made for.
	Start(p Problem, x []float64, lo int)
	// Step runs one iteration and reports whether it could make no progress (a stalled line
	// search); x holds the new estimate.
	Step(p Problem) (stalled bool)
}

// Sliding is implemented by steppers whose per-sample state follows a streaming window: Slide
// drops the oldest a samples of the state (the window moved by a), Shift records that the caller
// added d to x[i] between steps (a warm start), and Reset forgets all state.
type Sliding interface {
	Slide(a int)
	Shift(i int, d float64)
	Reset()
}

func checkLen(x []float64, lo, size int) {
	if len(x) > size || lo < 0 || lo > len(x) {
		panic(fmt.Sprintf("optim: Start on %d samples from %d, made for %d", len(x), lo, size))
	}
}

// descent writes the preconditioned gradient D⁻¹∇F(x) into g.
func descent(p Problem, g, x []float64) {
	p.Eval(g, x)
	p.Precondition(g)
}

func slideState(v []float64, a int) {
	copy(v, v[a:])
	clear(v[len(v)-a:])
}

// GLA is the preconditioned unit step x ← x − D⁻¹∇F(x): one Griffin-Lim iteration (Griffin & Lim
// 1984) per step, RTISI-LA's iteration on a streaming window (Zhu, Beauregard & Wyse 2007).
type GLA struct {
	g  []float64
	x  []float64
	lo int
}

// NewGLA makes a GLA stepper for vectors of up to size samples.
func NewGLA(size int) *GLA { return &GLA{g: make([]float64, size)} }

func (s *GLA) Start(_ Problem, x []float64, lo int) {
	checkLen(x, lo, len(s.g))
	s.x, s.lo = x, lo
}

func (s *GLA) Step(p Problem) bool {
	g := s.g[:len(s.x)]
	if d := invDiagonal(p); d != nil {
		p.Eval(g, s.x)
		x, d := s.x, d[:len(s.x)]
		for i := s.lo; i < len(x); i++ {
			x[i] -= g[i] * d[i]
		}
		return false
	}
	descent(p, g, s.x)
	floats.Sub(s.x[s.lo:], g[s.lo:])
	return false
}

// FGLA is fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013): with the projection
// y_n = z_{n−1} − D⁻¹∇F(z_{n−1}) and the extrapolation z_n = y_n + α(y_n − y_{n−1}), x holds y (the
// estimate, so y_{n−1} is x itself before a step) and the stepper keeps z. Its state slides with a
// streaming window, so the momentum carries over from one hop to the next.
//
// α is Alpha, or, when AlphaMax > Alpha, ramps within each run: the n-th Step after Start uses
// Nesterov's (n−1)/(n+2) (Nesterov 1983, the momentum coefficient of his accelerated gradient
// method) clamped to [Alpha, AlphaMax]. Restarted at every Start, as the streaming engine calls it
// once per hop, this is a fixed restart scheme (O'Donoghue & Candès, "Adaptive restart for
// accelerated gradient schemes", 2015) aligned with the changes of the objective: little
// extrapolation just after a frame arrives, up to AlphaMax on the settled objective.
type FGLA struct {
	Alpha    float64
	AlphaMax float64
	z, g     []float64
	x        []float64
	lo       int
	started  bool
	steps    int // since Start
}

// alpha returns the extrapolation of the next step, the n-th since Start.
func (s *FGLA) alpha(n int) float64 {
	if !(s.AlphaMax > s.Alpha) {
		return s.Alpha
	}
	return min(s.AlphaMax, max(s.Alpha, float64(n-1)/float64(n+2)))
}

// NewFGLA makes a fast Griffin-Lim stepper with extrapolation alpha for vectors of up to size
// samples (it allocates two vectors of size).
func NewFGLA(size int, alpha float64) *FGLA {
	return &FGLA{Alpha: alpha, z: make([]float64, size), g: make([]float64, size)}
}

// Start continues from the state kept since Reset (the first Start after Reset begins with
// z = x).
func (s *FGLA) Start(_ Problem, x []float64, lo int) {
	checkLen(x, lo, len(s.z))
	s.x, s.lo, s.steps = x, lo, 0
	if !s.started {
		copy(s.z, x)
		s.started = true
	}
	copy(s.z[:lo], x[:lo]) // the constants, at which every evaluation holds them
}

func (s *FGLA) Step(p Problem) bool {
	n := len(s.x)
	z, g := s.z[:n], s.g[:n]
	s.steps++
	a := s.alpha(s.steps)
	if d := invDiagonal(p); d != nil {
		p.Eval(g, z)
		fglaUpdate(z[s.lo:], s.x[s.lo:n], g[s.lo:], d[s.lo:n], a)
		return false
	}
	descent(p, g, z)
	fglaUpdate(z[s.lo:], s.x[s.lo:n], g[s.lo:], nil, a)
	return false
}

func (s *FGLA) Slide(a int)            { slideState(s.z, a) }
func (s *FGLA) Shift(i int, d float64) { s.z[i] += d }
func (s *FGLA) Reset()                 { clear(s.z); s.started = false }

// SGDM is gradient descent with heavy-ball momentum on the preconditioned gradient:
// v ← μv − lr·D⁻¹∇F(x), x ← x + v; lr is in units of a Griffin-Lim step.
type SGDM struct {
	LR, Momentum float64
	v, g         []float64
	x            []float64
	lo           int
}

// NewSGDM makes an SGD-with-momentum stepper for vectors of up to size samples.
func NewSGDM(size int, lr, momentum float64) *SGDM {
	return &SGDM{LR: lr, Momentum: momentum, v: make([]float64, size), g: make([]float64, size)}
}

func (s *SGDM) Start(_ Problem, x []float64, lo int) {
	checkLen(x, lo, len(s.v))
	s.x, s.lo = x, lo
}

func (s *SGDM) Step(p Problem) bool {
	n := len(s.x)
	g := s.g[:n]
	descent(p, g, s.x)
	for i := s.lo; i < n; i++ {
		s.v[i] = s.Momentum*s.v[i] - s.LR*g[i]
		s.x[i] += s.v[i]
	}
	return false
}

func (s *SGDM) Slide(a int)        { slideState(s.v, a) }
func (s *SGDM) Shift(int, float64) {}
func (s *SGDM) Reset()             { clear(s.v) }

// Adam (Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015; β1 0.9, β2 0.999)
// on the preconditioned gradient, with a step of LR in the units of x. Moments and step counts are
// per sample, so that in a streaming window each sample's bias correction counts its own steps;
// offline, where every sample takes every step, this is plain Adam.
type Adam struct {
	LR float64
	// StepScale, if not nil, scales sample i's step by StepScale[i] (the streaming engine damps
	// the newest samples, which few frames cover, by their coverage).
	StepScale  []float64
	m, v, g    []float64
	t          []int32
	pow1, pow2 []float64 // β^t for t ≤ adamTable
	x          []float64
	lo         int
}

const adamTable = 4096

// NewAdam makes an Adam stepper for vectors of up to size samples.
func NewAdam(size int, lr float64) *Adam {
	a := &Adam{LR: lr, m: make([]float64, size), v: make([]float64, size), g: make([]float64, size),
		t: make([]int32, size), pow1: make([]float64, adamTable+1), pow2: make([]float64, adamTable+1)}
	for i := range a.pow1 {
		a.pow1[i], a.pow2[i] = math.Pow(0.9, float64(i)), math.Pow(0.999, float64(i))
	}
	return a
}

func (s *Adam) Start(_ Problem, x []float64, lo int) {
	checkLen(x, lo, len(s.m))
	s.x, s.lo = x, lo
}

func (s *Adam) Step(p Problem) bool {
	n := len(s.x)
	g := s.g[:n]
	descent(p, g, s.x)
	for i := s.lo; i < n; i++ {
		gi := g[i]
		t := s.t[i] + 1
		s.t[i] = t
		s.m[i] = 0.9*s.m[i] + 0.1*gi
		s.v[i] = 0.999*s.v[i] + 0.001*gi*gi
		var c1, c2 float64
		if t <= adamTable {
			c1, c2 = 1-s.pow1[t], 1-s.pow2[t]
		} else {
			c1, c2 = 1, 1-math.Pow(0.999, float64(t))
		}
		lr := s.LR
		if s.StepScale != nil {
			lr *= s.StepScale[i]
		}
		s.x[i] -= lr * (s.m[i] / c1) / (math.Sqrt(s.v[i]/c2) + 1e-12)
	}
	return false
}

func (s *Adam) Slide(a int) {
	slideState(s.m, a)
	slideState(s.v, a)
	copy(s.t, s.t[a:])
	clear(s.t[len(s.t)-a:])
}
func (s *Adam) Shift(int, float64) {}
func (s *Adam) Reset()             { clear(s.m); clear(s.v); clear(s.t) }
