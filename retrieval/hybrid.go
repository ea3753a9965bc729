package retrieval

import "github.com/rephase/rephase/internal/optim"

// Method Auto: PGHI, then fast Griffin-Lim, then L-BFGS.
//
// On an STFT Problem (Invert), Auto starts from phase-gradient heap integration (Průša, Balazs &
// Søndergaard, IEEE/ACM TASLP 2017) when Init is InitZero, the zero value (another Init, or
// InitialSignal, is used as given); runs fast Griffin-Lim (Perraudin, Balazs & Søndergaard,
// WASPAA 2013) with extrapolation α = 0.995 when Alpha is 0 for the first five sixths of the
// iterations; and L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.5, as
// GD's) for the last sixth, about a quarter of the time. The padding relaxation (Options.Exact)
// applies as to the other methods, and the schedule counts iterations across its two phases.
// Other inverters (InvertScalogram, the mel and scattering inversions) run the same FGLA →
// L-BFGS schedule from their own Init with their α. Auto allocates what FGLA and L-BFGS
// together do, (2·History + 10)·Length() float64, plus PGHI's O(frames·bins) work arrays: in
// `rephase invert --method auto` (48 kHz) the peak RSS grows by 267 bytes per input sample
// against FGLA's 40, beyond issue 14's bound of 48 for the command line's default, which is
// therefore still FGLA.
//
// Why (benchmarks/report_static.md, "Offline: quality at equal time"; SC is
// STFTSpectralConvergenceDB): at the CPU time of 600 FGLA iterations, Auto beats FGLA from zero
// phase by 4.5 dB on espeak-ng speech at 16 kHz (Hann 512, hop 128), 5.3 dB on MATLAB's speech
// setting (the same speech at 11.025 kHz, Hamming 256, hop 64), 1.7 dB on music, 4.6 dB on a
// camera-shutter transient, 23 dB on an impulse train and 35 dB on MATLAB's exponential chirp.
// Each stage earns its place: PGHI is what gains on speech, music and transients (PGHI → FGLA
// alone: 1.4 to 23 dB there); L-BFGS alone loses to FGLA on speech and transients (by 1 to
// 5 dB) but converges superlinearly where FGLA crawls, so handed the last sixth of the run it
// takes the chirp from FGLA's −81 dB to −117 dB while changing speech and music by less than
// 0.3 dB; handed half the run it cost speech up to 1.9 dB. α = 0.995 rather than 0.99 gained
// 0.4 to 2 dB on seven of eight speech and music clips (lost 0.1 dB on the eighth), averaged
// over seven budgets of 500 to 700 iterations, as the end point of this non-convex iteration
// wanders by ±1 dB from one budget to the next. On the shutter clicks of the PGHI tests, six
// noise seeds, Auto averages −37.5 dB (−37.0 with α = 0.99), FGLA from zero phase −35.4 dB;
// FGLA is the better on one seed (−42.1 against −37.8 dB).
//
// Not implemented: the projection schemes of Peer, Welker & Gerkmann ("Beyond Griffin-Lim:
// improved iterative phase retrieval for speech", IWAENC 2022: the difference map of Elser, then
// Griffin-Lim) and the accelerated Griffin-Lim of Nenov, Nguyen, Balazs & Boţ (2023), which
// iterate on the STFT coefficients rather than the signal.

// autoLBFGSShare is the share of Auto's iterations that L-BFGS runs, at the end: 1/autoLBFGSShare.
// An L-BFGS iteration costs about 1.7 FGLA iterations (line search and two-loop recursion), so
// the last sixth of the iterations is about a quarter of the time and Auto's iteration about
// 1.12 FGLA iterations.
const autoLBFGSShare = 6

// autoSwitchAt is the number of FGLA iterations Auto runs out of maxIter before L-BFGS.
func autoSwitchAt(maxIter int) int { return maxIter - maxIter/autoLBFGSShare }

// autoAlpha is FGLA's extrapolation in Auto when Options.Alpha is 0.
const autoAlpha = 0.995

// withAuto is withDefaults, and for Method Auto on an STFT problem first: a zero Alpha means
// autoAlpha, the zero Init means PGHI, and the hand-over from FGLA to L-BFGS is counted over
// the whole budget (across the padding relaxation's two phases).
func (opt Options) withAuto() (Options, error) {
	if opt.Method != Auto {
		return opt.withDefaults()
	}
	if opt.Alpha == 0 {
		opt.Alpha = autoAlpha
	}
	if opt.Init == InitZero {
		opt.Init = InitPGHI
	}
	opt, err := opt.withDefaults()
	opt.autoSwitch = autoSwitchAt(opt.MaxIter)
	return opt, err
}

// hybrid is Auto's optimizer: fast Griffin-Lim for its first switchAt steps, then L-BFGS started
// from FGLA's estimate (its first inverse-Hessian guess the preconditioner, so its first step is
// a Griffin-Lim step). The step count runs on through Reset (the padding relaxation's change
// of problem, and realignments): Reset restarts FGLA's momentum, and Start restarts L-BFGS's
// memory, as each does for a new objective.
type hybrid struct {
	fgla     *optim.FGLA
	lbfgs    *optim.LBFGS
	switchAt int
	steps    int
	x        []float64
	lo       int
}

// newHybrid makes Auto's optimizer for signals of up to n samples: (2·History + 10)·n values.
// The switch is opt's (withAuto) or, for inverters that do not resolve it, autoSwitchAt of
// opt.MaxIter.
func newHybrid(n int, opt Options) *hybrid {
	sw := opt.autoSwitch
	if sw == 0 {
		sw = autoSwitchAt(opt.MaxIter)
	}
	return &hybrid{fgla: optim.NewFGLA(n, opt.Alpha), lbfgs: optim.NewLBFGS(n, opt.History, 30), switchAt: sw}
}

func (h *hybrid) Start(p optim.Problem, x []float64, lo int) {
	h.x, h.lo = x, lo
	if h.steps < h.switchAt {
		h.fgla.Start(p, x, lo)
	} else {
		h.lbfgs.Start(p, x, lo)
	}
}

func (h *hybrid) Step(p optim.Problem) bool {
	h.steps++
	if h.steps > h.switchAt {
		return h.lbfgs.Step(p)
	}
	h.fgla.Step(p)
	if h.steps == h.switchAt {
		h.lbfgs.Start(p, h.x, h.lo)
	}
	return false
}

// Reset restarts FGLA's momentum and keeps the step count (the schedule spans the relaxation's
// phases). hybrid is offline only: Slide and Shift panic.
func (h *hybrid) Reset() { h.fgla.Reset() }

func (h *hybrid) Slide(int)          { panic("retrieval: Auto's optimizer does not slide") }
func (h *hybrid) Shift(int, float64) { panic("retrieval: Auto's optimizer does not slide") }
