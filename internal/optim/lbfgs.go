package optim

import "gonum.org/v1/gonum/floats"

// LBFGS is limited-memory BFGS (Nocedal 1980; Nocedal & Wright, "Numerical Optimization", 2nd ed.,
// Alg. 7.4–7.5) with the two-loop recursion's initial inverse Hessian H0 = γ·D⁻¹: the
// preconditioner, so that the first step is exactly a Griffin-Lim step, scaled thereafter by
// γ = sᵀy / yᵀD⁻¹y. The line search backtracks from the unit step, halving it, until the Armijo
// condition F(x + t·d) ≤ F(x) + 1e-4·t·∇Fᵀd holds (at most MaxBacktracks halvings; then the step
// reports a stall).
//
// Start forgets every correction pair: the memory describes one objective. In the streaming
// engine the objective changes at every hop (a new frame enters the loss and the newest samples'
// curvature with it), and pairs carried across hops — even slid and re-checked for positive
// curvature — no longer describe it: with them, L-BFGS on speech (16 kHz, n_fft 512, hop 128,
// look-ahead 3) fell from −31.6 dB spectral convergence at 64 iterations per hop to −7.5 dB at
// 256; restarted per hop it gives −31.1 and −32.9 dB (benchmarks/REPORT.md). This is the
// restart strategy of Nocedal & Wright §7.2 applied at each change of objective.
type LBFGS struct {
	// MaxBacktracks bounds the line search's halvings per step.
	MaxBacktracks int

	m, size        int
	x              []float64
	lo             int
	f              float64
	g, d, xt, gt   []float64
	q, py          []float64
	sBlock, yBlock []float64   // the correction pairs' slots, contiguous: slot i at i·size
	s, y           [][]float64 // slot i of sBlock and yBlock
	rho, alpha     []float64
	order          []int32 // the slots in use, newest first (direction)
	head, n        int
	gamma          float64
}

// NewLBFGS makes an L-BFGS stepper keeping history correction pairs, for vectors of up to size
// samples (it allocates (2·history + 8)·size values).
func NewLBFGS(size, history, maxBacktracks int) *LBFGS {
	l := &LBFGS{MaxBacktracks: maxBacktracks, m: history, size: size,
		g: make([]float64, size), d: make([]float64, size), xt: make([]float64, size), gt: make([]float64, size),
		q: make([]float64, size), py: make([]float64, size),
		sBlock: make([]float64, (history+1)*size), yBlock: make([]float64, (history+1)*size),
		s: make([][]float64, history+1), y: make([][]float64, history+1),
		rho: make([]float64, history+1), alpha: make([]float64, history+1), order: make([]int32, history+1)}
	for i := range l.s {
		l.s[i], l.y[i] = l.sBlock[i*size:(i+1)*size], l.yBlock[i*size:(i+1)*size]
	}
	return l
}

// Start forgets the correction pairs and evaluates F and ∇F at x.
func (l *LBFGS) Start(p Problem, x []float64, lo int) {
	checkLen(x, lo, len(l.g))
	l.x, l.lo = x, lo
	l.head, l.n, l.gamma = 0, 0, 1
	l.f = p.Eval(l.g[:len(x)], x)
}

// slots is the number of correction-pair slots: the history plus the one the next pair is
// computed in.
func (l *LBFGS) slots() int { return l.m + 1 }

// F returns the objective at the current estimate.
func (l *LBFGS) F() float64 { return l.f }

// direction sets d = −H·g on the free samples by the two-loop recursion and returns gᵀd. The
// initial inverse Hessian is γ·D⁻¹ (p.Precondition between the loops). Each loop is one fused
// pass over memory per correction pair (loop1, loop2: kernels_cgo.go, with gonum's kernels in the
// pure-Go build).
func (l *LBFGS) direction(p Problem) float64 {
	n, lo := len(l.x), l.lo
	for j := 0; j < l.n; j++ { // newest to oldest
		l.order[j] = int32((l.head - 1 - j + 2*l.slots()) % l.slots())
	}
	l.loop1(l.q, l.g, lo, n)
	p.Precondition(l.q[:n])
	return l.loop2(l.d, l.q, l.g, lo, n)
}

// Step runs one iteration: the direction, then the backtracking line search.
func (l *LBFGS) Step(p Problem) bool {
	n, lo := len(l.x), l.lo
	gd := l.direction(p)
	if !(gd < 0) { // not a descent direction: forget the history, take the preconditioned step
		l.n, l.gamma = 0, 1
		if gd = l.direction(p); !(gd < 0) {
			return true
		}
	}
	xt, gt := l.xt[:n], l.gt[:n]
	copy(xt[:lo], l.x[:lo])
	t := 1.0
	for tries := 0; ; tries++ {
		floats.AddScaledTo(xt[lo:], l.x[lo:], t, l.d[lo:n])
		ft := p.Eval(gt, xt)
		if ft <= l.f+1e-4*t*gd {
			// Accept; keep the correction pair if it keeps H positive definite. Slot head is
			// never one of the l.n pairs in use (there are history+1 slots), so a rejected pair
			// overwrites nothing the recursion reads.
			i := l.head
			s, y := l.s[i][lo:n], l.y[i][lo:n]
			sy := diffDot(s, xt[lo:], l.x[lo:], y, gt[lo:], l.g[lo:n])
			copy(l.py[lo:n], y)
			p.Precondition(l.py[:n])
			yy := floats.Dot(y, l.py[lo:n])
			if sy > 1e-12*yy && yy > 0 {
				l.rho[i] = 1 / sy
				l.gamma = sy / yy
				l.head = (l.head + 1) % l.slots()
				l.n = min(l.n+1, l.m)
			}
			copy(l.x[lo:], xt[lo:])
			// The trial gradient becomes the gradient: swap the buffers rather than copy (the
			// trial's entries below lo are never read).
			l.g, l.gt = l.gt, l.g
			l.f = ft
			return false
		}
		if tries >= l.MaxBacktracks {
			return true
		}
		t /= 2
	}
}
