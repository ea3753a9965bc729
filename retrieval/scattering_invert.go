package retrieval

import (
	"fmt"
	"math"
)

// ScatteringProblem is signal recovery from scattering coefficients: find x whose scattering
// S(x) (Rows() × Frames()) matches a target T by minimising
//
//	F(x) = Σ_r Σ_t (S(x)[r,t] − T[r,t])²,
//
// the Kymatio example's loss (its MSE times the number of coefficients M) without automatic
// differentiation: the gradient runs back through both modulus layers, each convolution's adjoint
// being a product with the same real filter response after zero-insertion upsampling (a tiling of
// the spectrum), and the modulus's the projection dU·u/|u| (0 where u = 0). It costs about three
// times a forward transform. The preconditioner is the scalar D = M: a unit step is a plain
// gradient step on the mean squared error, so learning rates are those of torch.optim.SGD on
// nn.MSELoss (the Kymatio example's lr 500).
//
// Not safe for concurrent use. Eval, Precondition and Inconsistency do not allocate.
type ScatteringProblem struct {
	S        *Scattering
	target   []float64
	targetSq float64
	buf      []float64 // Transform scratch
	w        []float64 // row weights of F during InvertScattering (nil: all 1)
	w0       float64   // the warm-up's zeroth-order weight, 1 outside it
	noiseRMS float64   // ‖T‖/‖S(unit white noise)‖, computed on first use
}

// scatteringNegTol is how far below zero, relative to the largest coefficient, an order ≥ 1
// coefficient may be and still count as rounding (the transform's own output reaches −1e-18
// relative to 1; a negative coefficient of a real modulus is otherwise data corruption).
const scatteringNegTol = 1e-9

// NewScatteringProblem binds target (s.Rows() × s.Frames(), row-major, not copied) to s. It
// returns an error for a wrong size or NaN, Inf, larger than MaxMagnitude in absolute value, or
// negative coefficients (scattering coefficients
// of order ≥ 1 are non-negative, up to rounding: values down to −1e-9 × the largest coefficient
// are accepted; the zeroth order may be negative and is only checked for finiteness).
func NewScatteringProblem(s *Scattering, target []float64) (*ScatteringProblem, error) {
	if len(target) != s.Rows()*s.Frames() {
		return nil, fmt.Errorf("retrieval: scattering target has %d values, want rows × frames = %d × %d", len(target), s.Rows(), s.Frames())
	}
	p := &ScatteringProblem{S: s, target: target, buf: make([]float64, len(target)), w0: 1}
	// The low-pass filtering of the moduli rounds to tiny negatives (−8.7e-19 on espeak-ng
	// speech): accept those down to −scatteringNegTol × the largest coefficient.
	var peak float64
	for _, v := range target {
		if a := math.Abs(v); a > peak && !math.IsInf(a, 0) {
			peak = a
		}
	}
	for i, v := range target {
		r := i / s.Frames()
		if !ValidMagnitude(math.Abs(v)) || (v < -scatteringNegTol*peak && s.paths[r].Order > 0) {
			return nil, fmt.Errorf("retrieval: scattering coefficient %v at row %d, frame %d", v, r, i%s.Frames())
		}
		p.targetSq += v * v
	}
	return p, nil
}

// Target returns T. Shared; do not modify.
func (p *ScatteringProblem) Target() []float64 { return p.target }

// Eval returns F(x) and, when grad is not nil, writes ∇F(x) into grad (Length() samples). It
// does not allocate.
func (p *ScatteringProblem) Eval(grad, x []float64) float64 {
	p.S.checkSignal(x)
	if grad != nil && len(grad) != p.S.length {
		panic(fmt.Sprintf("retrieval: gradient has %d samples, want %d", len(grad), p.S.length))
	}
	return p.S.run(x, nil, p.target, grad, p.w)
}

// Precondition divides g by the number of coefficients M in place (see ScatteringProblem), and
// during InvertScattering's warm-up also by the zeroth-order weight, so that a fixed learning
// rate stays stable on the heavier loss.
func (p *ScatteringProblem) Precondition(g []float64) {
	inv := 1 / (float64(len(p.target)) * p.w0)
	for i := range g {
		g[i] *= inv
	}
}

// Inconsistency returns the spectral convergence in the scattering domain,
// ‖S(x) − T‖ / ‖T‖ (linear); it is what InvertScattering's Tol is compared with. Cost: one
// forward transform; no allocation.
func (p *ScatteringProblem) Inconsistency(x []float64) float64 { return p.SpectralConvergence(x) }

// SpectralConvergence returns ‖S(x) − T‖_F / ‖T‖_F (linear; see DB); ‖S(x)‖_F if T is 0. It
// does not allocate.
func (p *ScatteringProblem) SpectralConvergence(x []float64) float64 {
	p.S.checkSignal(x)
	f := p.S.run(x, nil, p.target, nil, nil)
	if p.targetSq == 0 {
		return math.Sqrt(f)
	}
	return math.Sqrt(f / p.targetSq)
}

// rmsEstimate returns the RMS of white noise whose scattering has the target's norm. The
// transform is positively homogeneous, S(c·x) = |c|·S(x), so one transform of seeded unit noise
// gives it exactly for that draw. Allocates on first use.
func (p *ScatteringProblem) rmsEstimate() float64 {
	if p.noiseRMS == 0 {
		n := make([]float64, p.S.length)
		fillNoise(n, 1, 0x5ca7)
		sq := 0.0
		for _, v := range p.S.Transform(p.buf, n) {
			sq += v * v
		}
		p.noiseRMS = 1
		if sq > 0 && p.targetSq > 0 {
			p.noiseRMS = math.Sqrt(p.targetSq / sq)
		}
	}
	return p.noiseRMS
}

// InitialSignal writes the start of init into x (Length() samples): InitNoise, seeded white
// Gaussian noise at the RMS the target implies (see rmsEstimate; the Kymatio example starts from
// torch.randn). Every other Init is an error: there is no phase to initialise.
func (p *ScatteringProblem) InitialSignal(x []float64, init Init, seed uint64) error {
	p.S.checkSignal(x)
	if init != InitNoise {
		return fmt.Errorf("retrieval: init %v is not defined for scattering (noise)", init)
	}
	fillNoise(x, p.rmsEstimate(), seed)
	return nil
}

// ScatteringOptions configures InvertScattering: the shared Options (a gradient optimizer: LBFGS,
// Adam or SGDM) and a
// warm-up. There is no meaningful zero value for the warm-up: use DefaultScatteringOptions.
type ScatteringOptions struct {
	Options
	// Warmup is the number of iterations, counted in MaxIter, that first minimise F with the
	// zeroth-order row weighted by WarmupWeight; 0 disables it (the Kymatio example's plain MSE throughout).
	// The zeroth order, x ⋆ φ subsampled, is the one linear and signed part of the transform: a
	// heavy weight makes the start a least-squares fit of the signal's lowest band, and the
	// phase of that band can then no longer settle in a wrong local minimum. On the Kymatio example's
	// cos(40 t) (N 2048, J 6, Q 8), L-BFGS from noise stalls at −16.5 dB scattering SC without
	// it; 20 iterations at weight 1000, then 300 plain ones, give −57, −48 and −62 dB for
	// seeds 1, 2, 3 (weight 10: −20 dB; 100: −48 dB; 10⁴ as 1000; all without Renormalize).
	Warmup int
	// WarmupWeight is the zeroth-order row's weight during the warm-up (> 0).
	WarmupWeight float64
	// Renormalize, if positive, weights each row r of order ≥ 1 in F by ē/(e_r + Renormalize·ē),
	// e_r = Σ_t T[r,t]² its target energy and ē the mean over rows (the Kymatio example's "coefficient
	// renormalisation"): the few rows that hold most of the energy no longer dominate the loss
	// and its curvature. 0 disables it. Tol and the reported SC stay unweighted. On Kymatio's
	// harmonic example (N 8192, J 6, Q 16), L-BFGS from noise stalls at −32 dB scattering SC
	// without it (seeds 1–3: −32.0, −26.8, −32.0 dB at 300 iterations); with 1 it reaches
	// −37.8, −41.6, −32.1 dB at 300 iterations and −62.3 dB (STFT SC −39.6 dB) at 1000 for
	// seed 1 (0.1: −32 dB; 3: −37.4 dB; 10: −25.8 dB at 300). On the Kymatio example's cos(40 t) it gives
	// −65.1 dB at 300 iterations (−69.9 without).
	Renormalize float64
}

// rowWeights returns Renormalize's row weights (row 0 weighs 1), nil for eps 0 or a zero
// target.
func (p *ScatteringProblem) rowWeights(eps float64) []float64 {
	if eps == 0 || p.targetSq == 0 {
		return nil
	}
	fr, rows := p.S.Frames(), p.S.Rows()
	w := make([]float64, rows)
	mean := p.targetSq / float64(rows)
	for r := range w {
		e := 0.0
		for _, v := range p.target[r*fr : (r+1)*fr] {
			e += v * v
		}
		w[r] = mean / (e + eps*mean)
	}
	w[0] = 1
	return w
}

// DefaultScatteringOptions returns L-BFGS from seeded noise, 300 iterations with a 20-iteration
// warm-up at zeroth-order weight 1000 and renormalisation 1, tolerance 1e-4 on the scattering
// SC.
func DefaultScatteringOptions() ScatteringOptions {
	return ScatteringOptions{Options: Options{Optimizer: LBFGS, Init: InitNoise, MaxIter: 300, Tol: DefaultTol},
		Warmup: 20, WarmupWeight: 1000, Renormalize: 1}
}

// InvertScattering recovers a signal whose scattering approximates p's target by gradient
// descent with opt.Optimizer (GLA and FGLA are errors): L-BFGS (the default, and by far the best
// per iteration; benchmarks/report_static.md, "Scattering inversion"), Adam or SGD with
// momentum, after opt's warm-up. opt.Init must be InitNoise when opt.InitialSignal is nil.
// Learning rates: SGDM's is torch's SGD lr on the MSE (0 means the Kymatio example's 500; Momentum 0 means
// 0.9), Adam's is in units of the signal RMS estimated from the target (0 means 0.3: after 300
// iterations on the Kymatio example lr 0.01, 0.03, 0.1, 0.3 and 1 reach −12, −25, −40, −49 and
// −26 dB scattering SC, and 0.3 beats 0.1 on the harmonic case, −24.8 against −19.6 dB). Tol stops
// on the scattering-domain spectral convergence (0 never stops early), checked
// every CheckEvery iterations; the optimizer restarts after the warm-up. A scattering is blind to
// the sign of x (S(−x) = S(x) but for the zeroth order) and, being averaged over 2^J samples,
// only weakly sees shifts below that scale, so a recovered signal is compared with the original
// by its STFT magnitudes, not sample by sample. Allocates O(Length()·History).
func InvertScattering(p *ScatteringProblem, opt ScatteringOptions) (*Result, error) {
	if opt.Optimizer == GLA || opt.Optimizer == FGLA || opt.Optimizer == Auto {
		return nil, fmt.Errorf("retrieval: scattering inversion is gradient descent (optimizer lbfgs, adam or sgdm), not %v", opt.Optimizer)
	}
	if opt.Warmup < 0 || (opt.Warmup > 0 && !(opt.WarmupWeight > 0)) {
		return nil, fmt.Errorf("retrieval: scattering warm-up of %d iterations at weight %v", opt.Warmup, opt.WarmupWeight)
	}
	if !(opt.Renormalize >= 0) || math.IsInf(opt.Renormalize, 0) {
		return nil, fmt.Errorf("retrieval: scattering renormalisation %v, want a finite value ≥ 0", opt.Renormalize)
	}
	o := opt.Options
	if o.LearningRate == 0 {
		switch o.Optimizer {
		case SGDM:
			o.LearningRate = 500
		case Adam:
			o.LearningRate = 0.3
		}
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	x, err := startSignal(p.S.length, o, p.InitialSignal)
	if err != nil {
		return nil, err
	}
	base := p.rowWeights(opt.Renormalize)
	defer func() { p.w, p.w0 = nil, 1 }()
	warm := min(opt.Warmup, o.MaxIter)
	done := 0
	if warm > 0 {
		st, err := newStepper(o, len(x), p.rmsEstimate())
		if err != nil {
			return nil, err
		}
		ow := o
		ow.MaxIter, ow.Tol = warm, 0
		p.w = make([]float64, p.S.Rows())
		for r := range p.w {
			p.w[r] = 1
			if base != nil {
				p.w[r] = base[r]
			}
		}
		p.w[0] *= opt.WarmupWeight
		p.w0 = opt.WarmupWeight
		res := iterate(p, st, x, ow)
		p.w, p.w0 = base, 1
		copy(x, res.Signal)
		done = res.Iterations
	}
	p.w = base
	st, err := newStepper(o, len(x), p.rmsEstimate())
	if err != nil {
		return nil, err
	}
	o.MaxIter -= done
	if o.OnIteration != nil {
		on := o.OnIteration
		o.OnIteration = func(it int) { on(it + done) }
	}
	if o.Progress != nil {
		pr := o.Progress
		o.Progress = func(it int, v float64) { pr(it+done, v) }
	}
	if o.MaxIter == 0 {
		return &Result{Signal: x, Iterations: done, Inconsistency: p.Inconsistency(x)}, nil
	}
	res := iterate(p, st, x, o)
	res.Iterations += done
	return res, nil
}
