package retrieval

import "github.com/rephase/rephase/internal/optim"

// Optimizer Auto: PGHI, then the difference map, then fast Griffin-Lim, then L-BFGS.
//
// On an STFT Problem (Invert), Auto
//
//  1. starts from phase-gradient heap integration (Průša, Balazs & Søndergaard, IEEE/ACM TASLP
//     2017) when Init is InitZero, the zero value (another Init, or InitialSignal, is used as
//     given);
//  2. runs the difference map (Elser, J. Opt. Soc. Am. A 2003) with β = 1 on the STFT
//     coefficients for the first half of the iterations (Problem.differenceMap), if there are
//     at least 300 of them;
//  3. runs fast Griffin-Lim (Perraudin, Balazs & Søndergaard, WASPAA 2013), with extrapolation
//     α = 0.995 when Alpha is 0, from the difference map's estimate for five sixths of the rest;
//  4. and L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.4–7.5, as Optimizer LBFGS)
//     for the last sixth of the rest.
//
// Steps 3 and 4 are Invert again, with the padding relaxation (Options.Exact) as for the other
// methods and the hand-over counted across its two phases; the tolerance is checked there only,
// Progress is called in step 2 too (Problem.differenceMap). Other inverters (InvertScalogram, the mel and scattering
// inversions) run steps 3 and 4 only, from their own Init with their α. A difference-map
// iteration costs about 1.7 FGLA iterations (whole-spectrogram transforms and a hypot per
// coefficient), an L-BFGS iteration about 1.7, so Auto's iteration costs about 1.4 FGLA
// iterations: 420 of them take the CPU time of 600 FGLA iterations. Auto allocates what
// FGLA and L-BFGS together do, (2·History + 10)·Length() float64, PGHI's O(frames·bins) work
// arrays and the difference map's two complex spectrograms: in `rephase invert --method auto`
// (48 kHz) the peak RSS grows by about 225 to 272 bytes per input sample against FGLA's 40, so
// `rephase invert`, whose default it is, falls back to FGLA for inputs over 2^20 samples per
// channel (long files keep FGLA's 40 bytes per sample).
//
// Why (benchmarks/report_static.md, "Offline: quality at equal time"; SC is
// STFTSpectralConvergenceDB): at the CPU time of 600 FGLA iterations, Auto beats FGLA from zero
// phase by 8.3 dB on espeak-ng speech at 16 kHz (Hann 512, hop 128), 13.0 dB on MATLAB's speech
// setting (the same speech at 11.025 kHz, Hamming 256, hop 64), 13.3 dB on music, 8.2 dB on a
// camera-shutter transient, 22.6 dB on an impulse train and 8.9 dB on MATLAB's exponential chirp
// (another run of the same table, with counts calibrated a few percent apart: 9.7, 13.0, 13.6,
// 8.8, 22.7 and 20.7 dB — the end point of this non-convex iteration is chaotic in the count).
// Each stage earns its place. The difference map, projection-based like Griffin-Lim but not a
// descent method, leaves the basins where FGLA and the gradient methods stop on these clips; that
// a few hundred of its iterations followed by Griffin-Lim beat Griffin-Lim alone is the finding of
// Peer, Welker & Gerkmann ("Beyond Griffin-Lim: improved iterative phase retrieval for speech",
// IWAENC 2022). Without it (PGHI → FGLA → L-BFGS) Auto gained 4.5 dB on the speech, 1.7 dB on
// music. Started from zero phase instead of PGHI, Auto was 1.3 and 8.8 dB worse on the 16 kHz
// speech and the music and 0.9 to 6.4 dB better on the rest of the table; over eleven clips at one
// budget, zero phase was the better start on five of six speech clips (by 0.5 to 2.6 dB), PGHI on
// music (by 6.5 and 17 dB) and on average (−42.5 against −41.5 dB, the chirp left out). Handing
// the difference map the first half of the iterations rather than a sixth or a third gave the best
// mean on six espeak-ng clips (−41.4 dB against −40.8 and −39.3, at the time of 600 FGLA
// iterations), and β = 1 rather than 0.8 the safer result on the chirp (−96 against −80 dB); over
// ten inputs (the chirp left out) this setting had the best mean of twelve (three shares, two β,
// two starts): −42.5 dB. L-BFGS alone loses to FGLA on speech and transients (by 1 to 5 dB) but
// converges superlinearly where FGLA crawls: handed the last sixth of the run it took the chirp
// from −80 to −128 dB (FGLA from PGHI, means over seven budgets) and changed speech and music by
// less than 0.3 dB; handed half the run it cost speech up to 1.9 dB. α = 0.995 rather than 0.99
// gained 0.4 to 2 dB on seven of eight speech and music clips (lost 0.1 dB on the eighth), means
// over seven budgets of 500 to 700 iterations, as the end point of this non-convex iteration
// wanders by ±1 dB or more from one budget to the next.
//
// The difference map needs room: with fewer than about 200 iterations of its own and 200 for
// FGLA to settle from where it leaves, its estimate is still rough. At the time of 100, 200, 300
// and 400 FGLA iterations (71 to 285 Auto iterations), PGHI → FGLA → L-BFGS without it was the
// better in 14 of the 20 cases of five espeak-ng clips, by up to 3.3 dB (the difference map by
// up to 2.7 dB in the others; by 1 to 6.5 dB on music and the shutter clicks); at the time of
// 600 and 800 (428 and 571) the difference map won on every clip, by 0.2 to 15 dB. Hence the
// threshold of 300 iterations, between the two.
//
// Not implemented: the accelerated Griffin-Lim of Nenov, Nguyen, Balazs & Boţ (2023).

// autoLBFGSShare: L-BFGS runs the last 1/autoLBFGSShare of the FGLA → L-BFGS part of Auto. An
// offline L-BFGS iteration costs about 1.7 FGLA iterations in float64, the precision Auto runs
// both in (line search and two-loop recursion; benchmarks/REPORT.md, "cost against the FFT-pair
// bound"), so that is about a quarter of that part's time.
const autoLBFGSShare = 6

// autoSwitchAt is the number of FGLA iterations Auto runs out of maxIter before L-BFGS.
func autoSwitchAt(maxIter int) int { return maxIter - maxIter/autoLBFGSShare }

// autoDMShare: Auto runs the difference map for the first 1/autoDMShare of its iterations, when
// it has at least autoDMMinIter of them.
const (
	autoDMShare   = 2
	autoDMMinIter = 300
)

// autoAlpha is FGLA's extrapolation in Auto when Options.Alpha is 0.
const autoAlpha = 0.995

// withAuto is withDefaults, and for Optimizer Auto first: a zero Alpha means autoAlpha, the zero
// Init means PGHI, and the hand-over from FGLA to L-BFGS is counted over the whole of
// opt.MaxIter (across the padding relaxation's two phases).
func (opt Options) withAuto() (Options, error) {
	if opt.Optimizer != Auto {
		return opt.withDefaults()
	}
	if opt.Alpha == 0 {
		opt.Alpha = autoAlpha
	}
	if opt.Init == InitZero {
		opt.Init = InitPGHI
	}
	opt, err := opt.withDefaults()
	opt.autoSwitch, opt.autoResolved = autoSwitchAt(opt.MaxIter), true
	return opt, err
}

// invertAuto is Invert for Optimizer Auto: the start (PGHI unless Init or InitialSignal say
// otherwise), the difference map for the first 1/autoDMShare of the iterations (none below
// autoDMMinIter), then Invert's FGLA → L-BFGS schedule for the rest from its estimate.
func invertAuto(p *Problem, opt Options) (*Result, error) {
	opt, err := opt.withAuto()
	if err != nil {
		return nil, err
	}
	if opt.MaxIter < autoDMMinIter {
		return Invert(p, opt) // withAuto set autoSwitch: no difference map
	}
	x, err := startSignal(p.S.length, opt, p.InitialSignal)
	if err != nil {
		return nil, err
	}
	k := opt.MaxIter / autoDMShare
	p.differenceMap(x, k, opt)
	rest := opt
	rest.InitialSignal = x
	rest.MaxIter = opt.MaxIter - k
	rest.autoSwitch = autoSwitchAt(rest.MaxIter)
	if opt.Progress != nil {
		rest.Progress = func(it int, inc float64) { opt.Progress(k+it, inc) }
	}
	if opt.OnIteration != nil {
		rest.OnIteration = func(it int) { opt.OnIteration(k + it) }
	}
	res, err := Invert(p, rest)
	if err != nil {
		return nil, err
	}
	res.Iterations += k
	return res, nil
}

// differenceMap runs iters iterations of the difference map (Elser 2003) with β = 1 — the
// Douglas–Rachford splitting, Elser's relaxed-reflect-reflect with β = 1 — on the STFT
// coefficients c, from the coefficients of x, between the consistent spectrograms B (the STFTs
// of signals, projected onto by P_B(c) = STFT(ISTFT(c)), the least-squares ISTFT) and the
// spectrograms of the target magnitudes A (P_A(c) = T·c/|c|):
//
//	c ← c + P_A(2·P_B(c) − c) − P_B(c)
//
// It then writes into x the signal of one Griffin-Lim step from P_B(c), ISTFT(P_A(P_B(c))).
// Each iteration costs one ISTFT and one STFT, as a Griffin-Lim iteration does. opt.OnIteration,
// if set, is called after each; opt.Progress, if set, after the first, every CheckEvery-th and the
// last with the normalised inconsistency of ISTFT(c) after that iteration (one more ISTFT and STFT
// then). Its Tol is not checked: the
// difference map is not a descent method, and its inconsistency can rise before it falls. It
// allocates two complex spectrograms (frames × bins) and runs on
// one thread.
func (p *Problem) differenceMap(x []float64, iters int, opt Options) {
	if iters <= 0 {
		return
	}
	s := p.S
	c := s.Forward(nil, x)
	pb := make([]complex128, len(c)) // P_B(c), then 2·P_B(c) − c and its projection
	for it := 1; it <= iters; it++ {
		s.Forward(pb, s.Inverse(x, c))
		for i, b := range pb {
			pb[i] = 2*b - c[i]
			c[i] -= b
		}
		ProjectMagnitude(pb, p.mag)
		for i, a := range pb {
			c[i] += a
		}
		if opt.Progress != nil && (it == 1 || it%opt.CheckEvery == 0 || it == iters) {
			opt.Progress(it, p.Inconsistency(s.Inverse(x, c))) // the synthesis of the new iterate
		}
		if opt.OnIteration != nil {
			opt.OnIteration(it)
		}
	}
	s.Forward(pb, s.Inverse(x, c))
	ProjectMagnitude(pb, p.mag)
	s.Inverse(x, pb)
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
