package retrieval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rephase/rephase/internal/enum"
	"github.com/rephase/rephase/internal/optim"
	"github.com/rephase/rephase/retrieval/fft"
)

// Optimizer is the phase-retrieval algorithm, offline (Options.Optimizer) and in the streaming
// engine (stream.Config.Optimizer, the same type): one vocabulary for both. Every optimizer steps
// on the one preconditioned gradient of the loss (docs/design.md, "Preconditioning"), where a
// unit step x − D⁻¹∇F(x) is one Griffin-Lim iteration; internal/optim holds the one
// implementation of each. The zero value is FGLA. Text forms: ParseOptimizer and the
// encoding.TextMarshaler pair (retrieval/text.go).
type Optimizer int

const (
	// FGLA is the fast Griffin-Lim algorithm (Perraudin, Balazs, Søndergaard 2013): a Griffin-Lim
	// step from an extrapolated point, y_n = G(z_{n−1}), z_n = y_n + α·(y_n − y_{n−1}) (α =
	// Options.Alpha). The zero value and the default.
	FGLA Optimizer = iota
	// GLA is the Griffin-Lim algorithm (Griffin & Lim 1984): x ← x − D⁻¹∇F(x).
	GLA
	// LBFGS is limited-memory BFGS (Nocedal 1980) with the diagonal preconditioner D⁻¹ as the
	// initial inverse Hessian and a backtracking Armijo line search that tries the unit step first
	// (Options.History correction pairs).
	LBFGS
	// Adam (Kingma & Ba 2015) on the preconditioned gradient (step Options.LearningRate).
	Adam
	// SGDM is heavy-ball momentum on the preconditioned gradient (Options.LearningRate,
	// Options.Momentum).
	SGDM
	// Auto is offline only: PGHI → difference map → FGLA → L-BFGS, the best measured quality per
	// second, at several times FGLA's memory (retrieval/hybrid.go has the stages, the measurements
	// and the memory). The streaming engine does not implement it.
	Auto
)

// optimizerNames are the optimizers' names, indexed by value (new values go at the end).
var optimizerNames = [...]string{"fgla", "gla", "lbfgs", "adam", "sgdm", "auto"}

// String returns the optimizer's name ("fgla", "gla", "lbfgs", "adam", "sgdm", "auto"), or "unknown(N)".
func (o Optimizer) String() string { return enumString(optimizerNames[:], int(o)) }

// DefaultPrecision is the frame-pass precision rephase's defaults use with the optimizer:
// fft.Float32 for FGLA and GLA, whose spectral convergence in single precision stayed within
// 0.1 dB of float64's offline and streaming, on speech, music and MATLAB's exponential chirp
// (to −81 dB), at 1.2–1.5× the speed per iteration (benchmarks/REPORT.md, "float32 frame passes");
// fft.Float64 for the others: L-BFGS's offline convergence reaches −169 dB on the chirp, beyond
// single precision's floor, and its streaming results are chaotic in rounding (a float32 run
// lands up to 3.4 dB from the float64 one, either way), and Adam and SGDM were not measured.
func (o Optimizer) DefaultPrecision() fft.Precision {
	if o == FGLA || o == GLA {
		return fft.Float32
	}
	return fft.Float64
}

// ParseOptimizer parses an optimizer's name ("fgla", "gla", "lbfgs", "adam", "sgdm" or "auto"), in any
// case.
func ParseOptimizer(s string) (Optimizer, error) {
	i, err := enumParse(optimizerNames[:], s, "optimizer")
	return Optimizer(i), err
}

// Init selects the initial phase.
type Init int

const (
	// InitZero starts from zero phase in the frame-centre convention (the target magnitudes
	// synthesised as symmetric frames). Default.
	InitZero Init = iota
	// InitRandom starts from uniformly random phase (seeded by Options.Seed).
	InitRandom
	// InitPGHI starts from phase-gradient heap integration (Průša, Balazs, Søndergaard 2017).
	// STFT only.
	InitPGHI
	// InitNoise starts from seeded white Gaussian noise at the RMS the target implies
	// (MATLAB's cwtmag2sig start), rather than from a phase.
	InitNoise
)

var initNames = [...]string{"zero", "random", "pghi", "noise"}

func (i Init) String() string { return enumString(initNames[:], int(i)) }

// ParseInit parses "zero", "random", "pghi" or "noise".
func ParseInit(s string) (Init, error) {
	i, err := enumParse(initNames[:], s, "init")
	return Init(i), err
}

// enumString is the String of the package's enums (internal/enum's Name).
func enumString(names []string, i int) string { return enum.Name(names, i) }

// enumParse parses one of names for the package's enum what (internal/enum's Parse).
func enumParse(names []string, s, what string) (int, error) {
	return enum.Parse(names, s, "retrieval", what)
}

// StopReason says why Invert stopped.
type StopReason int

const (
	// MaxIterations: the iteration budget was spent.
	MaxIterations StopReason = iota
	// Converged: the normalised inconsistency fell below Options.Tol.
	Converged
	// Stalled: the L-BFGS line search found no decrease (a local minimum to working precision).
	Stalled
)

var stopReasonNames = [...]string{"max iterations", "converged", "stalled"}

// String returns "max iterations", "converged" or "stalled", or "unknown(N)".
func (r StopReason) String() string { return enumString(stopReasonNames[:], int(r)) }

// DefaultMaxIter and DefaultTol are DefaultOptions' iteration budget and inconsistency
// tolerance, MATLAB stftmag2sig's.
const (
	DefaultMaxIter = 100
	DefaultTol     = 1e-4
)

// DefaultOptions returns Invert's documented defaults, MATLAB stftmag2sig's: FGLA from
// frame-centre zero phase, DefaultMaxIter iterations, stopping when the normalised inconsistency
// falls below DefaultTol (checked every 20 iterations), with the zero Alpha, LearningRate,
// Momentum and History (their zeros mean the defaults their docs give), in FGLA's
// DefaultPrecision (float32; set Precision to the new optimizer's DefaultPrecision when you
// change Optimizer).
func DefaultOptions() Options {
	return Options{Optimizer: FGLA, Init: InitZero, MaxIter: DefaultMaxIter, Tol: DefaultTol, Precision: FGLA.DefaultPrecision()}
}

// Options configures Invert, InvertScalogram and InvertMel; start from DefaultOptions. MaxIter
// and Tol mean what they say at 0 (no iteration; no tolerance), so the zero Options is valid and
// returns the initial estimate: the target magnitudes with frame-centre zero phase, synthesised
// by the least-squares ISTFT. The fields whose 0 cannot be meant — CheckEvery, Alpha,
// LearningRate, Momentum, History — take the defaults their docs give at 0.
type Options struct {
	// Optimizer is the algorithm; the zero value is FGLA.
	Optimizer Optimizer
	Init      Init
	// InitialSignal, if not nil, is the starting signal (Length() samples) and Init is ignored.
	InitialSignal []float64
	// MaxIter ≥ 0 is the iteration budget; 0 returns the initial signal (Init or InitialSignal),
	// e.g. PGHI alone with InitPGHI. DefaultOptions: DefaultMaxIter.
	MaxIter int
	// Tol, if > 0, stops when the normalised inconsistency (Problem.Inconsistency) falls below it,
	// evaluated every CheckEvery iterations; 0 (or less) never stops early. DefaultOptions:
	// DefaultTol.
	Tol float64
	// CheckEvery is how often (iterations) the inconsistency is computed for Tol and Progress; it
	// costs about two iterations' worth of FFTs. 0 means 20.
	CheckEvery int
	// Alpha is FGLA's extrapolation; 0 means 0.99.
	Alpha float64
	// LearningRate is the step of Adam (in units of the signal's RMS, estimated from the target)
	// and of SGDM (in units of a Griffin-Lim step). 0 means 0.01 for Adam, 0.5 for SGDM.
	LearningRate float64
	// Momentum is SGDM's momentum; 0 means 0.9.
	Momentum float64
	// History is L-BFGS's number of correction pairs; 0 means 10.
	History int
	// Seed seeds InitRandom and PGHI's random phase of negligible bins.
	Seed uint64
	// Exact disables the padding relaxation. By default a Center/Reflect problem is first solved
	// with the n_fft/2 padded samples at each end as free unknowns (the same frames and target,
	// Inner framing over the padded length), and the second half of the iterations (at least 20)
	// run on the exact reflect model. The exact model forces the first and last frames to be
	// symmetric about their centres, so their spectra are real and every bin's sign is a discrete
	// choice that gradient steps cannot flip: on MATLAB's exponential chirp the exact model stalls at
	// −37 dB spectral convergence, the relaxed one reaches −81 dB (FGLA) and −169 dB (L-BFGS)
	// in 600 iterations. The half/half split was chosen by measurement over polish fractions
	// 1/10, 1/4, 1/2 and 1 on the chirp and two speech clips (benchmarks/REPORT.md).
	Exact bool
	// Threads, if > 0, is the number of threads the gradient evaluations use: Invert and
	// InvertScalogram call the problem's SetThreads(Threads) first (its workers stay until the
	// problem's Close) and the padding relaxation's problem uses as many. 0 keeps the problem's
	// setting (1 unless SetThreads was called). For a given count the result is the same to the
	// last bit from run to run; with more than one thread it differs from the single-threaded
	// one by rounding (the overlap-adds and sums are grouped by thread), and the non-convex
	// iteration can amplify that over many iterations.
	Threads int
	// Precision, if fft.Float32, makes Invert call the problem's SetPrecision(fft.Float32) first
	// (the padding relaxation's problem too): the magnitude MSE's frame passes in single precision,
	// about 1.7× faster per iteration, with spectral convergence limited to about −120 dB (the chirp's
	// −169 dB needs float64). The zero value, fft.Float64, keeps the problem's setting.
	Precision fft.Precision
	// Progress, if not nil, is called after iteration 1, every CheckEvery-th iteration and the
	// last, with the normalised inconsistency at that point.
	Progress func(iter int, inconsistency float64)
	// OnIteration, if not nil, is called after every iteration with the iterations done so far
	// (counting across the relaxed and exact phases). It costs nothing else; meant for progress
	// bars.
	OnIteration func(iter int)

	// realign, if set, may change the iterate in place at each check (before the inconsistency
	// is computed); when it returns true the optimizer restarts from the changed iterate.
	realign func(x []float64) bool
	// autoSwitch is Auto's FGLA iteration count before L-BFGS, set by withAuto with
	// autoResolved (so that Invert runs the difference map stage once, even for MaxIter 0).
	autoSwitch   int
	autoResolved bool
}

// Result is what Invert returns.
type Result struct {
	Signal        []float64 // Length() samples
	Iterations    int
	Inconsistency float64 // at the end
	Stop          StopReason
}

// Invert recovers a signal whose STFT magnitude approximates p's target, by the algorithm of opt.
// Every algorithm costs one Problem.Eval (one forward and one inverse FFT per frame) per
// iteration, plus the inconsistency checks; L-BFGS may spend extra evaluations in its line search.
// It allocates the estimate and the optimizer's state, once (the padding relaxation's two phases
// share them): 3·Length() float64 for FGLA, 2 for GLA, 3 for SGDM, 4.5 for Adam, 2·History + 9
// for L-BFGS, plus O(n_fft); nothing per iteration. It returns an error for invalid options.
func Invert(p *Problem, opt Options) (*Result, error) {
	if opt.Optimizer == Auto && !opt.autoResolved {
		return invertAuto(p, opt) // hybrid.go; it calls Invert again for the FGLA → L-BFGS part
	}
	opt, err := opt.withAuto()
	if err != nil {
		return nil, err
	}
	if opt.Threads > 0 {
		p.SetThreads(opt.Threads)
	}
	if opt.Precision == fft.Float32 {
		p.SetPrecision(fft.Float32)
	}
	if !opt.Exact && p.S.cfg.Framing == Center && p.S.cfg.Pad == Reflect && opt.MaxIter >= 40 && len(p.S.groups) > 1 {
		return invertRelaxed(p, opt)
	}
	x, err := startSignal(p.S.length, opt, p.InitialSignal)
	if err != nil {
		return nil, err
	}
	st, err := newStepper(opt, len(x), p.rmsEstimate())
	if err != nil {
		return nil, err
	}
	return iterate(p, st, x, opt), nil
}

// startSignal returns opt.InitialSignal copied (checked to have n samples), or the start that
// init writes for opt.Init and opt.Seed.
func startSignal(n int, opt Options, init func(x []float64, i Init, seed uint64) error) ([]float64, error) {
	x := make([]float64, n)
	if opt.InitialSignal != nil {
		if len(opt.InitialSignal) != n {
			return nil, fmt.Errorf("retrieval: initial signal has %d samples, want %d", len(opt.InitialSignal), n)
		}
		copy(x, opt.InitialSignal)
		return x, nil
	}
	return x, init(x, opt.Init, opt.Seed)
}

// withDefaults fills Options' zero values.
func (opt Options) withDefaults() (Options, error) {
	if opt.MaxIter < 0 {
		return opt, fmt.Errorf("retrieval: negative iteration count %d", opt.MaxIter)
	}
	if opt.CheckEvery <= 0 {
		opt.CheckEvery = 20
	}
	if opt.Alpha == 0 {
		opt.Alpha = 0.99
	}
	if opt.Momentum == 0 {
		opt.Momentum = 0.9
	}
	if opt.History <= 0 {
		opt.History = 10
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(opt.Tol):
		return opt, fmt.Errorf("retrieval: tolerance %g is not finite", opt.Tol)
	case !(opt.Alpha > 0 && opt.Alpha <= 1):
		return opt, fmt.Errorf("retrieval: FGLA extrapolation α = %g must lie in (0, 1]", opt.Alpha)
	case !(opt.Momentum > 0 && opt.Momentum < 1):
		return opt, fmt.Errorf("retrieval: momentum %g must lie in (0, 1)", opt.Momentum)
	case opt.Threads < 0:
		return opt, fmt.Errorf("retrieval: negative thread count %d", opt.Threads)
	case !finite(opt.LearningRate) || opt.LearningRate < 0:
		return opt, fmt.Errorf("retrieval: learning rate %g must be finite and ≥ 0", opt.LearningRate)
	}
	return opt, nil
}

// newStepper returns the optimizer of opt for a signal of n samples; rms is the signal's RMS
// estimate, Adam's step unit. The optimizers are the ones the streaming engine uses
// (internal/optim).
func newStepper(opt Options, n int, rms float64) (optim.Stepper, error) {
	switch opt.Optimizer {
	case GLA:
		return optim.NewGLA(n), nil
	case FGLA:
		return optim.NewFGLA(n, opt.Alpha), nil
	case Auto:
		return newHybrid(n, opt), nil
	case Adam:
		return optim.NewAdam(n, adamRate(opt, rms)), nil
	case SGDM:
		lr := opt.LearningRate
		if lr == 0 {
			lr = 0.5
		}
		return optim.NewSGDM(n, lr, opt.Momentum), nil
	case LBFGS:
		return optim.NewLBFGS(n, opt.History, 30), nil
	}
	return nil, fmt.Errorf("retrieval: unknown optimizer %d", int(opt.Optimizer))
}

// adamRate is Adam's step for opt on a signal of RMS estimate rms: opt.LearningRate (0: 0.01)
// in units of rms.
func adamRate(opt Options, rms float64) float64 {
	lr := opt.LearningRate
	if lr == 0 {
		lr = 0.01
	}
	return lr * rms
}

// iterate runs st on obj from x (taken over) for opt's iterations, checks and callbacks.
func iterate(obj objective, st optim.Stepper, x []float64, opt Options) *Result {
	st.Start(obj, x, 0)
	res := &Result{Stop: MaxIterations}
	checked := false // res.Inconsistency is x's
	for it := 1; it <= opt.MaxIter; it++ {
		stalled := st.Step(obj)
		res.Iterations = it
		if opt.OnIteration != nil {
			opt.OnIteration(it)
		}
		check := it == 1 || it%opt.CheckEvery == 0 || it == opt.MaxIter || stalled
		if check && opt.realign != nil && opt.realign(x) {
			if sl, ok := st.(optim.Sliding); ok {
				sl.Reset()
			}
			st.Start(obj, x, 0)
			stalled = false
		}
		checked = false
		if check && (opt.Tol > 0 || opt.Progress != nil) {
			res.Inconsistency, checked = obj.Inconsistency(x), true
			if opt.Progress != nil {
				opt.Progress(it, res.Inconsistency)
			}
			if opt.Tol > 0 && res.Inconsistency < opt.Tol {
				res.Stop = Converged
				break
			}
		}
		if stalled {
			res.Stop = Stalled
			break
		}
	}
	res.Signal = x // iterate owns x (callers pass a fresh start signal): no copy
	if !checked {
		res.Inconsistency = obj.Inconsistency(res.Signal)
	}
	return res
}

// invertRelaxed runs Invert on the relaxed problem (padding as free samples), then polishes on
// the exact model; see Options.Exact.
func invertRelaxed(p *Problem, opt Options) (*Result, error) {
	s := p.S
	rc := s.cfg
	rc.Framing = Inner
	plen := (s.frames-1)*rc.Hop + rc.NFFT
	rs, err := NewSTFT(rc, plen)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	rp, err := NewProblem(rs, p.mag, p.loss)
	if err != nil {
		return nil, err
	}
	if p.threads > 1 {
		rp.SetThreads(p.threads)
	}
	rp.SetPrecision(p.Precision())
	defer rp.Close()
	polish := max(20, opt.MaxIter/2)
	o1 := opt
	o1.Exact = true
	o1.MaxIter = opt.MaxIter - polish
	// One signal buffer and one optimizer serve both phases: the exact phase starts from the
	// relaxed solution's unpadded samples, in place, with the optimizer's state reset.
	x := make([]float64, plen)
	if opt.InitialSignal != nil {
		if len(opt.InitialSignal) != s.length {
			return nil, fmt.Errorf("retrieval: initial signal has %d samples, want %d", len(opt.InitialSignal), s.length)
		}
		for i := range x {
			t := i - s.pad
			if t < 0 || t >= s.length {
				t = reflectIndex(t, s.length)
			}
			x[i] = opt.InitialSignal[t]
		}
	} else if err := rp.InitialSignal(x, opt.Init, opt.Seed); err != nil {
		return nil, err
	}
	st, err := newStepper(o1, plen, rp.rmsEstimate())
	if err != nil {
		return nil, err
	}
	r1 := iterate(rp, st, x, o1)
	o2 := opt
	o2.Exact = true
	o2.MaxIter = polish
	if opt.Progress != nil {
		o2.Progress = func(it int, inc float64) { opt.Progress(r1.Iterations+it, inc) }
	}
	if opt.OnIteration != nil {
		o2.OnIteration = func(it int) { opt.OnIteration(r1.Iterations + it) }
	}
	if r1.Stop == Converged {
		o2.MaxIter = min(polish, 20)
	}
	restart(st, o2, p.rmsEstimate())
	r2 := iterate(p, st, r1.Signal[s.pad:s.pad+s.length], o2)
	r2.Iterations += r1.Iterations
	return r2, nil
}

// restart makes st, made by newStepper, what newStepper would make for opt and the RMS
// estimate rms (for a signal no longer than it was made for), without allocating: it forgets
// the optimizer's state (L-BFGS forgets its pairs at Start) and sets Adam's step.
func restart(st optim.Stepper, opt Options, rms float64) {
	if sl, ok := st.(optim.Sliding); ok {
		sl.Reset()
	}
	if a, ok := st.(*optim.Adam); ok {
		a.LR = adamRate(opt, rms)
	}
}

// rmsEstimate returns the RMS of a signal with the target magnitudes, by Parseval:
// Σ_m Σ_k c_k·T² = N·Σ_t Σ_m w²[t − s_m]·x²[t].
func (p *Problem) rmsEstimate() float64 {
	var e float64
	for i, t := range p.mag {
		k := i % p.S.bins
		c := 2.0
		if k == 0 || k == p.S.bins-1 {
			c = 1
		}
		e += c * t * t
	}
	var w float64
	for t := range p.S.length {
		w += p.S.wss.at(t)
	}
	if w == 0 {
		return 1
	}
	r := math.Sqrt(e / (float64(p.S.cfg.NFFT) * w))
	if r == 0 {
		return 1
	}
	return r
}

// InitialSignal writes the starting signal of init into x (Length() samples): the target
// magnitudes with zero phase (frame-centre convention), random phase, or PGHI phase, synthesised by
// the least-squares ISTFT.
func (p *Problem) InitialSignal(x []float64, init Init, seed uint64) error {
	s := p.S
	b := s.bins
	// centred synthesises frame m with the phase φ (frame-centre convention, nil for zero
	// phase): T·e^{iφ}·(−1)^k in the frame-start convention.
	centred := func(phase []float64) func(m int, spec []complex128) {
		return func(m int, spec []complex128) {
			row := p.mag[m*b : (m+1)*b]
			for k, t := range row {
				v := complex(t, 0)
				if phase != nil {
					v *= cisPhase(phase[m*b+k])
				}
				if k%2 == 1 {
					v = -v
				}
				spec[k] = v
			}
		}
	}
	switch init {
	case InitZero:
		s.overlapAdd(x, centred(nil))
	case InitRandom:
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		s.overlapAdd(x, func(m int, spec []complex128) {
			for k, t := range p.mag[m*b : (m+1)*b] {
				spec[k] = complex(t, 0) * cisPhase(2*math.Pi*rng.Float64())
			}
		})
	case InitNoise:
		fillNoise(x, p.rmsEstimate(), seed)
	case InitPGHI:
		phase := make([]float64, len(p.mag))
		PGHI(phase, p.mag, s.frames, s.cfg, seed)
		s.overlapAdd(x, centred(phase))
	default:
		return fmt.Errorf("retrieval: unknown init %d", int(init))
	}
	return nil
}

// fillNoise writes seeded white Gaussian noise of standard deviation sigma into x.
func fillNoise(x []float64, sigma float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	for i := range x {
		x[i] = sigma * rng.NormFloat64()
	}
}

func cisPhase(ph float64) complex128 {
	s, c := math.Sincos(ph)
	return complex(c, s)
}

// objective is what the offline steppers minimise: the STFT Problem and the ScalogramProblem.
// Precondition applies D⁻¹, the inverse of the frame operator's (Gauss-Newton) curvature, so that
// x − D⁻¹∇F(x) is one Griffin-Lim step for either transform.
type objective interface {
	Eval(grad, x []float64) float64
	Precondition(g []float64)
	Inconsistency(x []float64) float64
}
