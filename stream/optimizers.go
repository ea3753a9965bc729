package stream

import (
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/rephase/rephase/internal/optim"
)

// windowProblem is the objective of one hop's iterations, for the optimizers of internal/optim:
// the loss of frame rows [m0, m1) of the engine's window (plus the future-frame term), over the
// free samples buf[fixed:], preconditioned by the steady-state overlap energy.
type windowProblem struct {
	e             *Engine
	m0, m1, fixed int
}

func (w *windowProblem) Eval(grad, x []float64) float64 {
	return w.e.gradient(x, grad, w.m0, w.m1, w.fixed)
}

func (w *windowProblem) Precondition(g []float64) {
	floats.Mul(g[w.fixed:], w.e.invD[w.fixed:len(g)])
	if w.e.mel != nil {
		floats.Scale(1/w.e.melCurvature(), g[w.fixed:])
	}
}

// InvDiagonal is the preconditioner as a vector for GLA and FGLA (optim.Diagonal), or nil for a
// mel engine, whose preconditioner also scales by the mel curvature.
func (w *windowProblem) InvDiagonal() []float64 {
	if w.e.mel != nil {
		return nil
	}
	return w.e.invD
}

// melCurvature returns λ, the running mean of the mel loss's Gauss-Newton curvature relative to
// the magnitude MSE's over the frames pushed (1 before any band counted).
func (e *Engine) melCurvature() float64 {
	if e.curvN == 0 || !(e.curvSum > 0) {
		return 1
	}
	return e.curvSum / float64(e.curvN)
}

// gradient sets grad[fixed:] to ∇F at x over frame rows [m0, m1) plus the future-frame term
// (see Config.FutureWeight) and returns F.
func (e *Engine) gradient(x, grad []float64, m0, m1, fixed int) float64 {
	clear(grad[fixed:])
	f := e.loss.Eval(grad, x, e.tgt, m0, m1, fixed)
	if e.futureW > 0 {
		c := e.futureW * float64(e.nfft)
		if e.mel != nil {
			c *= e.melCurvature() // in the mel loss's units, as the preconditioner
		}
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

// newStepper makes the optimizer of c for a window of size samples.
func newStepper(c Config, size int) optim.Stepper {
	switch c.Optimizer {
	case GLA:
		return optim.NewGLA(size)
	case FGLA:
		f := optim.NewFGLA(size, c.Alpha)
		f.AlphaMax = c.AlphaMax
		return f
	case Adam:
		return optim.NewAdam(size, c.LearningRate)
	case SGDM:
		return optim.NewSGDM(size, c.LearningRate, c.Momentum)
	}
	return optim.NewLBFGS(size, c.History, lbfgsBacktracks)
}

// lbfgsBacktracks bounds the engine's L-BFGS line search: a step that needs more than 8 halvings
// is not worth a hop's time.
const lbfgsBacktracks = 8

// coverage returns, per buffer sample, the share of the steady-state Σw² that the frames
// [m0, m1) give it (1 where every frame that will ever touch it is in the loss).
func (e *Engine) coverage(m0, m1 int) []float64 {
	clear(e.cover)
	for m := m0; m < m1; m++ {
		o := m * e.hop
		for i, w := range e.win {
			e.cover[o+i] += w * w
		}
	}
	for i := range e.cover {
		e.cover[i] *= e.olaNorm[i]
	}
	return e.cover
}

// adamStep sets Adam's step to Config.LearningRate × the RMS that the window's target magnitudes
// imply (Parseval: RMS² ≈ Σ_m Σ_k c_k·T² / (N·(m1−m0)·Σw²)).
func (e *Engine) adamStep(a *optim.Adam, m0, m1 int) {
	var en float64
	b := e.bins
	for i, t := range e.lin[m0*b : m1*b] {
		k := i % b
		c := 2.0
		if k == 0 || k == b-1 {
			c = 1
		}
		en += c * t * t
	}
	w2 := floats.Dot(e.win, e.win)
	a.StepScale = e.coverage(m0, m1)
	a.LR = e.cfg.LearningRate * math.Sqrt(en/(float64(e.nfft)*float64(m1-m0)*w2))
}
