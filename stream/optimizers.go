package stream

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// hopOptimizer runs iterations on the free samples buf[fixed:] of an engine's window. Its state
// is indexed like the buffer and slides with it; none of the methods allocate.
type hopOptimizer interface {
	reset()
	// slide drops the oldest a samples of the state (the buffer moved by one hop).
	slide(a int)
	// shift records that the warm start added d to buf[i].
	shift(i int, d float64)
	// begin is called once per frame before its iterations.
	begin(e *Engine, m0, m1, fixed int)
	step(e *Engine, m0, m1, fixed int)
}

// gradient sets grad[fixed:] to ∇F at x over frame rows [m0, m1) plus the future-frame term
// (see Config.FutureWeight) and returns F.
func (e *Engine) gradient(x, grad []float64, m0, m1, fixed int) float64 {
	clear(grad[fixed:])
	f := e.loss.Eval(grad, x, e.tgt, m0, m1, fixed)
	if e.futureW > 0 {
		c := e.futureW * float64(e.nfft)
		for i := fixed; i < e.size; i++ {
			if m := e.miss[i]; m > 0 {
				v := x[i]
				f += c * m * v * v
				grad[i] += 2 * c * m * v
			}
		}
	}
	return f
}

func slideState(v []float64, a int) {
	copy(v, v[a:])
	clear(v[len(v)-a:])
}

// glaHop is the preconditioned unit step: x ← x − D⁻¹∇F, Griffin-Lim on the window.
type glaHop struct{}

func (*glaHop) reset()                       {}
func (*glaHop) slide(int)                    {}
func (*glaHop) shift(int, float64)           {}
func (*glaHop) begin(*Engine, int, int, int) {}
func (*glaHop) step(e *Engine, m0, m1, fixed int) {
	e.gradient(e.buf, e.grad, m0, m1, fixed)
	for i := fixed; i < e.size; i++ {
		e.buf[i] -= e.grad[i] * e.invD[i]
	}
}

// fglaHop is fast Griffin-Lim: c = x − D⁻¹∇F, x ← c + α(c − c_prev).
type fglaHop struct {
	alpha float64
	prev  []float64
}

func (f *fglaHop) reset()                     { clear(f.prev) }
func (f *fglaHop) slide(a int)                { slideState(f.prev, a) }
func (f *fglaHop) shift(i int, d float64)     { f.prev[i] += d }
func (*fglaHop) begin(*Engine, int, int, int) {}
func (f *fglaHop) step(e *Engine, m0, m1, fixed int) {
	e.gradient(e.buf, e.grad, m0, m1, fixed)
	for i := fixed; i < e.size; i++ {
		c := e.buf[i] - e.grad[i]*e.invD[i]
		e.buf[i] = c + f.alpha*(c-f.prev[i])
		f.prev[i] = c
	}
}

// adamHop is Adam (Kingma & Ba 2015, β1 0.9, β2 0.999) on the preconditioned gradient, with
// per-sample moments and step counts that slide with the window, and a step of lr × the RMS the
// window's target magnitudes imply (Parseval).
type adamHop struct {
	lr, step0  float64
	m, v       []float64
	t          []int32
	pow1, pow2 []float64 // β^t
}

const adamMaxT = 4096

func newAdamHop(size int, lr float64) *adamHop {
	a := &adamHop{lr: lr, m: make([]float64, size), v: make([]float64, size), t: make([]int32, size),
		pow1: make([]float64, adamMaxT+1), pow2: make([]float64, adamMaxT+1)}
	for i := range a.pow1 {
		a.pow1[i], a.pow2[i] = math.Pow(0.9, float64(i)), math.Pow(0.999, float64(i))
	}
	return a
}

func (a *adamHop) reset() { clear(a.m); clear(a.v); clear(a.t) }
func (a *adamHop) slide(h int) {
	slideState(a.m, h)
	slideState(a.v, h)
	copy(a.t, a.t[h:])
	clear(a.t[len(a.t)-h:])
}
func (*adamHop) shift(int, float64) {}
func (a *adamHop) begin(e *Engine, m0, m1, _ int) {
	// RMS² ≈ Σ_m Σ_k c_k·T² / (N·(m1−m0)·Σw²).
	var en float64
	b := e.bins
	for i, t := range e.tgt[m0*b : m1*b] {
		k := i % b
		c := 2.0
		if k == 0 || k == b-1 {
			c = 1
		}
		en += c * t * t
	}
	w2 := floats.Dot(e.win, e.win)
	a.step0 = a.lr * math.Sqrt(en/(float64(e.nfft)*float64(m1-m0)*w2))
}
func (a *adamHop) step(e *Engine, m0, m1, fixed int) {
	e.gradient(e.buf, e.grad, m0, m1, fixed)
	for i := fixed; i < e.size; i++ {
		g := e.grad[i] * e.invD[i]
		if g == 0 && e.invD[i] == 0 {
			continue
		}
		t := min(a.t[i]+1, adamMaxT)
		a.t[i] = t
		a.m[i] = 0.9*a.m[i] + 0.1*g
		a.v[i] = 0.999*a.v[i] + 0.001*g*g
		mh := a.m[i] / (1 - a.pow1[t])
		vh := a.v[i] / (1 - a.pow2[t])
		e.buf[i] -= a.step0 * mh / (math.Sqrt(vh) + 1e-12)
	}
}

// lbfgsHop is L-BFGS (Nocedal & Wright, Alg. 7.4) on the free samples with H0 = γ·D⁻¹ and
// Armijo backtracking (at most 8 halvings). Correction pairs slide with the window; at each
// frame their curvature sᵀy is recomputed over the free samples and pairs with sᵀy ≤ 0 are
// dropped.
type lbfgsHop struct {
	m          int
	s, y       [][]float64
	rho, alpha []float64
	order      []int // slots, oldest first
	gamma      float64
	f          float64
	g, q, d    []float64
	xt, gt     []float64
}

func newLBFGSHop(size, m int) *lbfgsHop {
	l := &lbfgsHop{m: m, s: make([][]float64, m), y: make([][]float64, m), rho: make([]float64, m),
		alpha: make([]float64, m), order: make([]int, 0, m),
		g: make([]float64, size), q: make([]float64, size), d: make([]float64, size),
		xt: make([]float64, size), gt: make([]float64, size)}
	for i := range l.s {
		l.s[i], l.y[i] = make([]float64, size), make([]float64, size)
	}
	return l
}

func (l *lbfgsHop) reset() { l.order = l.order[:0]; l.gamma = 1 }
func (l *lbfgsHop) slide(a int) {
	for _, i := range l.order {
		slideState(l.s[i], a)
		slideState(l.y[i], a)
	}
}
func (*lbfgsHop) shift(int, float64) {}

func (l *lbfgsHop) begin(e *Engine, m0, m1, fixed int) {
	kept := l.order[:0]
	for _, i := range l.order {
		sy := floats.Dot(l.s[i][fixed:], l.y[i][fixed:])
		if sy > 0 {
			l.rho[i] = 1 / sy
			kept = append(kept, i)
		}
	}
	l.order = kept
	if n := len(kept); n > 0 {
		i := kept[n-1]
		yy := 0.0
		for k := fixed; k < e.size; k++ {
			yy += l.y[i][k] * l.y[i][k] * e.invD[k]
		}
		if yy > 0 {
			l.gamma = 1 / (l.rho[i] * yy)
		}
	} else {
		l.gamma = 1
	}
	l.f = e.gradient(e.buf, l.g, m0, m1, fixed)
}

func (l *lbfgsHop) step(e *Engine, m0, m1, fixed int) {
	q := l.q[fixed:]
	copy(q, l.g[fixed:])
	for j := len(l.order) - 1; j >= 0; j-- {
		i := l.order[j]
		l.alpha[i] = l.rho[i] * floats.Dot(l.s[i][fixed:], q)
		floats.AddScaled(q, -l.alpha[i], l.y[i][fixed:])
	}
	for k := range q {
		q[k] *= l.gamma * e.invD[fixed+k]
	}
	for _, i := range l.order {
		b := l.rho[i] * floats.Dot(l.y[i][fixed:], q)
		floats.AddScaled(q, l.alpha[i]-b, l.s[i][fixed:])
	}
	d := l.d[fixed:]
	floats.ScaleTo(d, -1, q)
	gd := floats.Dot(l.g[fixed:], d)
	if !(gd < 0) {
		l.order, l.gamma = l.order[:0], 1
		for k := range d {
			d[k] = -l.g[fixed+k] * e.invD[fixed+k]
		}
		if gd = floats.Dot(l.g[fixed:], d); !(gd < 0) {
			return
		}
	}
	copy(l.xt[:fixed], e.buf[:fixed])
	t := 1.0
	for tries := 0; tries <= 8; tries++ {
		floats.AddScaledTo(l.xt[fixed:], e.buf[fixed:], t, d)
		ft := e.gradient(l.xt, l.gt, m0, m1, fixed)
		if ft <= l.f+1e-4*t*gd {
			var slot int
			if len(l.order) == l.m {
				slot = l.order[0]
				copy(l.order, l.order[1:])
				l.order = l.order[:l.m-1]
			} else {
				slot = l.freeSlot()
			}
			s, y := l.s[slot], l.y[slot]
			clear(s[:fixed])
			clear(y[:fixed])
			floats.SubTo(s[fixed:], l.xt[fixed:], e.buf[fixed:])
			floats.SubTo(y[fixed:], l.gt[fixed:], l.g[fixed:])
			sy := floats.Dot(s[fixed:], y[fixed:])
			yy := 0.0
			for k := fixed; k < e.size; k++ {
				yy += y[k] * y[k] * e.invD[k]
			}
			if sy > 1e-12*yy && yy > 0 {
				l.rho[slot] = 1 / sy
				l.gamma = sy / yy
				l.order = append(l.order, slot)
			}
			copy(e.buf[fixed:], l.xt[fixed:])
			copy(l.g[fixed:], l.gt[fixed:])
			l.f = ft
			return
		}
		t /= 2
	}
}

func (l *lbfgsHop) freeSlot() int {
	for i := range l.m {
		used := false
		for _, j := range l.order {
			if i == j {
				used = true
				break
			}
		}
		if !used {
			return i
		}
	}
	return 0
}
