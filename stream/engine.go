// Package stream is rephase's streaming engine: STFT magnitude frames in, one hop of audio out per
// frame, with a fixed, bounded latency; the phase is reconstructed by warm-started gradient
// descent over a sliding window of overlapping frames (docs/design.md, "The streaming engine and
// its latency").
// It also holds the streaming analysis (audio → frames) and the frame-stream format.
package stream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/rephase/rephase/internal/enum"
	"github.com/rephase/rephase/internal/optim"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// Optimizer is the per-hop optimizer of the engine: retrieval.Optimizer, the one vocabulary of
// offline and streaming reconstruction. All of them step on the gradient of the magnitude MSE
// preconditioned by the window's steady-state overlap energy D = 2N·Σ_m w², so a unit plain step
// on fully covered samples is one Griffin-Lim iteration. The engine implements FGLA, GLA,
// LBFGS, Adam and SGDM; Resolve returns an error for any other value.
//
//   - FGLA is fast Griffin-Lim (Perraudin, Balazs, Søndergaard 2013) on the window: the
//     projection step plus α times the change since the previous projection, with the momentum
//     carried from hop to hop. The default, because its quality grows with the iterations per
//     hop more reliably than L-BFGS's. On speech at ℓ = 0–3 it improves at every step from 16
//     to 512 iterations. On 2 s music clips it can lose up to 2 dB past 64
//     (benchmarks/REPORT.md, "Anytime streaming").
//   - LBFGS is limited-memory BFGS with the preconditioner as initial inverse Hessian and
//     Armijo backtracking, restarted at every hop: the objective changes when a frame arrives,
//     and correction pairs carried across hops made quality collapse past about 64 iterations
//     per hop (see optim.LBFGS). A hop runs at most 64 iterations, whatever ItersPerHop or
//     Budget allow: further iterations (Griffin-Lim steps, as it used to run) made it 0.6 dB worse
//     on average and its result chaotic in K (see lbfgsItersPerHop), so its SC at any K ≥ 64 is
//     its SC at 64. The best SC per iteration of the four up to 64 (2 s of music at ℓ = 3,
//     K = 64: −37 to −41 dB against FGLA's −32), but the local minimum it lands in depends on
//     rounding: float32 frame passes or another FFTW plan move its result by up to 11 dB either
//     way (FGLA's by 0.2 dB), and between K = 16 and 64 an intermediate K can be up to 1.2 dB
//     worse than a smaller one (speech, K = 32 → 64; benchmarks/REPORT.md, "Anytime streaming").
//   - GLA is the plain preconditioned step: Griffin-Lim on the window, as RTISI-LA iterates
//     (Zhu, Beauregard, Wyse 2007).
//   - Adam (Kingma & Ba 2015) on the preconditioned gradient, per-sample moments that slide
//     with the window, each sample's step scaled by its coverage (the share of the steady-state
//     Σw² that the arrived frames give it): undamped, Adam's normalised steps fit the newest
//     samples, seen by one or two frames, to those frames alone, and quality fell with more
//     iterations (speech, ℓ = 3: −24.6 dB at 64 iterations per hop, −22.2 dB at 256; damped:
//     −27.6 and −28.5 dB).
//   - SGDM is heavy-ball momentum on the preconditioned gradient, v ← μ·v − η·D⁻¹∇F, x ← x + v
//     (η = Config.LearningRate in Griffin-Lim steps, μ = Config.Momentum), the velocity sliding
//     with the window as FGLA's momentum does. Between GLA and FGLA at 16 iterations per hop,
//     within 0.4 dB of FGLA from 256 (see Config.Momentum).
type Optimizer = retrieval.Optimizer

// The optimizers, as retrieval names them (see Optimizer).
const (
	FGLA  = retrieval.FGLA
	GLA   = retrieval.GLA
	LBFGS = retrieval.LBFGS
	Adam  = retrieval.Adam
	SGDM  = retrieval.SGDM
)

// ParseOptimizer parses an optimizer's name, in any case: retrieval.ParseOptimizer.
func ParseOptimizer(s string) (Optimizer, error) { return retrieval.ParseOptimizer(s) }

// WarmStart is how a new frame's samples are initialised before the optimizer runs: the frame's
// target magnitudes with a phase from one of these rules are synthesised (inverse FFT, window) and
// overlap-added into the working buffer, normalised by the steady-state Σw².
type WarmStart int

const (
	// RTPGHI takes the phase from real-time phase-gradient heap integration with one frame of
	// delay (centred time differences, Průša & Holighaus 2017): the newest frame only serves as
	// the look-ahead of the one before it, so it needs Lookahead ≥ 1 and takes one of its frames;
	// at Lookahead 0, Resolve makes it RTPGHICausal. The zero value.
	RTPGHI WarmStart = iota
	// RTPGHICausal is RTPGHI with backward time differences: no delay, any Lookahead.
	RTPGHICausal
	// RTISI takes the phase of the current partial estimate over the new frame (RTISI-LA).
	RTISI
	// Zero is zero phase in the frame-centre convention.
	Zero
	// Noise is uniformly random phase (seeded).
	Noise
)

var warmStartNames = [...]string{"rtpghi", "rtpghi-causal", "rtisi", "zero", "noise"}

// String returns the warm start's name, or "unknown(N)" (internal/enum, as retrieval's enums).
func (w WarmStart) String() string { return enum.Name(warmStartNames[:], int(w)) }

// MarshalText implements encoding.TextMarshaler: the warm start's name; an error for a value
// outside the enum.
func (w WarmStart) MarshalText() ([]byte, error) {
	return enum.Marshal(warmStartNames[:], int(w), "stream", "warm start")
}

// UnmarshalText implements encoding.TextUnmarshaler (the names of ParseWarmStart).
func (w *WarmStart) UnmarshalText(b []byte) error {
	return enum.Unmarshal(w, warmStartNames[:], b, "stream", "warm start")
}

// ParseWarmStart parses "rtpghi", "rtpghi-causal", "rtisi", "zero" or "noise", in any case and
// with surrounding space ignored.
func ParseWarmStart(s string) (WarmStart, error) {
	i, err := enum.Parse(warmStartNames[:], s, "stream", "warm start")
	return WarmStart(i), err
}

// DefaultFileItersPerHop is DefaultConfig's iterations per hop (file runs, no Budget): the
// largest count that keeps the default engine (FGLA in float32, n_fft 512, hop 128, ℓ = 3) at a
// real-time factor ≤ 0.25 on one core of the benchmark machine. With the frame passes batched
// into one cgo call per loss, `rephase stream` on 6.9 s of espeak-ng speech at 16 kHz, quiet
// machine, three runs each: K = 128 rtf 0.14–0.17, K = 192 0.20–0.21, K = 256 0.27–0.29
// (benchmarks/REPORT.md).
const DefaultFileItersPerHop = 192

// DefaultRealtimeBudget is the deadline (a fraction of the hop duration) that real-time runs use
// unless told otherwise: half of each hop for the engine, the rest for the device callback, the
// analysis and the operating system.
const DefaultRealtimeBudget = 0.5

// DefaultLookahead is DefaultConfig's look-ahead ℓ in frames: at n_fft 512, hop 128 and 16 kHz,
// 56 ms from audio in to audio out.
const DefaultLookahead = 3

// DefaultConfig returns the engine's documented defaults: look-ahead DefaultLookahead,
// DefaultFileItersPerHop iterations per hop of FGLA, the RTPGHI warm start, no Budget, and the
// zero STFT, SampleRate, Alpha, LearningRate, Momentum and History (their zeros mean the
// defaults their docs give, which depend on n_fft and the optimizer), in FGLA's
// DefaultPrecision (float32 frame passes; set Precision to the new optimizer's
// DefaultPrecision when you change Optimizer). Set SampleRate (and STFT) before use; change
// what differs. A run of it is deterministic.
func DefaultConfig() Config {
	return Config{Lookahead: DefaultLookahead, ItersPerHop: DefaultFileItersPerHop, Optimizer: FGLA, WarmStart: RTPGHI,
		Precision: FGLA.DefaultPrecision()}
}

// Config configures an Engine; start from DefaultConfig. Every field means what it says at 0
// (no look-ahead, no iterations, no budget, no future-frame term, seed 0) except those whose 0
// cannot be meant — the STFT's sizes, MaxItersPerHop (0: no cap), Alpha, LearningRate, Momentum, History, a mel filterbank's
// NFFT and SampleRate — where 0 means the default their docs give. So the zero Config is valid:
// causal RTPGHI alone (the warm start, no iterations, no look-ahead) at n_fft 512, hop 128,
// the cheapest and lowest-latency engine (n_fft samples audio to audio).
type Config struct {
	// STFT holds n_fft, hop length, win_length and window (Framing and Pad are ignored: the
	// engine's frame m covers samples [m·hop, m·hop + n_fft) of its output, i.e. the Full
	// framing of retrieval, which Analyzer produces). Defaults: 512, n_fft/4, n_fft, Hann.
	STFT retrieval.Config
	// SampleRate in Hz: needed for Budget, deadline misses and latencies in seconds.
	SampleRate int
	// Lookahead ℓ ≥ 0 is the number of frames after a hop's last frame that arrive before the
	// hop is emitted; latency grows by ℓ·hop samples. At ℓ = 0 the RTPGHI warm start, whose
	// one-frame delay takes one look-ahead frame, becomes RTPGHICausal. DefaultConfig: 3.
	Lookahead int
	// ItersPerHop K ≥ 0 is the number of optimizer iterations per frame when Budget is 0; 0 is
	// a pure warm start (e.g. RTPGHI alone). L-BFGS runs at most 64 of them (see Optimizer).
	// DefaultConfig: DefaultFileItersPerHop.
	ItersPerHop int
	// Budget, if > 0, replaces ItersPerHop by a deadline: the engine starts another iteration
	// while the time spent on this frame (from the start of Push) plus the running mean of one
	// iteration stays under Budget × the hop duration (hop/SampleRate), and runs at least one.
	// A hop therefore uses nearly all of its budget (L-BFGS stops at 64 iterations); the loop
	// also keeps back a margin that it adapts so that about 1 % of hops overrun the budget (a
	// quantile tracker: Engine's deadlineMargin), since single iterations vary around the mean.
	// It is how a user says "use what the hop allows": quality grows with the iterations (see
	// ItersPerHop). The iteration count depends on the clock, so deadline runs are not
	// reproducible bit for bit; Stats.IterationsPercentile reports the iterations run, so that
	// a run can be repeated with a fixed ItersPerHop.
	Budget float64
	// MaxItersPerHop, if > 0, caps the iterations of a deadline hop; 0 means no cap (L-BFGS
	// stops at 64 either way).
	MaxItersPerHop int
	Optimizer      Optimizer
	WarmStart      WarmStart
	// Alpha is FGLA's extrapolation at the start of each hop, in (0, 1); 0 means 0.7 (measured best of
	// 0.3–0.99 as a constant at K = 16: the offline 0.99 overshoots on a window that changes
	// every frame).
	Alpha float64
	// AlphaMax, if above Alpha, makes FGLA's extrapolation ramp within each hop: the n-th
	// iteration of a hop uses Nesterov's (n−1)/(n+2) clamped to [Alpha, AlphaMax] (optim.FGLA),
	// so the first iterations after a frame arrives, when the objective has just changed,
	// extrapolate little, and the later ones, on an objective that no longer changes, nearly as
	// much as offline FGLA. 0 (or anything up to Alpha) keeps Alpha throughout, the default.
	// Measured on three espeak-ng sentences and 4 s of music with and without drums (16 kHz,
	// n_fft 512, hop 128, ℓ = 0–3), AlphaMax 0.95 against the constant 0.7: 0.3 dB better in
	// mean spectral convergence at K = 16 and 1.1–3.4 dB better at K = 64–512 (a constant 0.95
	// was 1–1.7 dB worse at K = 16, 0.99 worse everywhere). It is not the default because it
	// reaches the plateau of quality sooner and then wanders on it: on the bench's 2 s clips, 4
	// of 12 input × ℓ cases lose more than 0.5 dB from K = 64 to 256 (up to 2.5 dB), against
	// none with the constant, so quality is no longer monotone in the iterations
	// (benchmarks/REPORT.md, "Anytime streaming"). Values of 1 or more leave (n−1)/(n+2)
	// unclamped above. Only FGLA reads it.
	AlphaMax float64
	// LearningRate is Adam's step in units of the signal's RMS (estimated from the window's
	// target magnitudes; 0 means 0.05), or SGDM's in units of a Griffin-Lim step (0 means 1).
	LearningRate float64
	// Momentum is SGDM's momentum μ ∈ (0, 1); 0 means 0.5. On espeak-ng speech (n_fft 512, hop
	// 128, ℓ = 3) SGDM reached −27.0, −29.7 and −31.0 dB SC at K = 16, 64, 256 with rate 1 and
	// μ = 0.5, against −21.6, −29.2 and −31.1 dB with the offline defaults (0.5, 0.9): the
	// window changes every hop, and a heavy momentum needs more steps to settle than a hop gives.
	Momentum float64
	// History is L-BFGS's number of correction pairs; 0 means 10 (on speech at ℓ = 0, 1, 3 and
	// 256 iterations per hop, 10 pairs gave 0.2–1.5 dB better SC than 5, and 20 pairs 0.6 dB
	// worse than 10 at ℓ = 3).
	History int
	// Seed seeds the Noise warm start and the random phase RTPGHI gives negligible bins.
	Seed uint64
	// FutureWeight λ ∈ [0, 1] adds to the loss the frames that have not arrived yet but overlap
	// the window, with target zero: λ·N·Σ_t miss[t]·x[t]², where miss[t] is their share of the
	// steady-state Σw² at sample t. λ = 1 is what RTISI-LA's normalisation by the full Σw²
	// amounts to (a plain step is then exactly its update). It keeps the newest samples, seen by
	// one or two frames only, from being fitted to those frames alone, which on steady synthetic
	// tones makes many iterations per hop (K = 64) slightly worse than K = 16; on speech it
	// costs 1–5 dB at every K (benchmarks/REPORT.md), so the default is 0 (off).
	FutureWeight float64
	// Mel, if not nil, makes the engine a mel vocoder: each pushed frame is Mel.NMels values of
	// a mel spectrogram stored as MelLoss describes (g(Φ·|X|^p), e.g. HiFi-GAN's ln of Φ·|X|), and
	// the loss is the mel loss ‖g(Φ·|X_m|^p) − M_m‖² per frame (retrieval.MelPenalty) instead of the
	// magnitude MSE. The frames are decompressed (g⁻¹) and fitted in the linear domain,
	// ‖Φ·|X_m|^p − g⁻¹(M_m)‖², as `rephase invert --fit linear` does offline, where it converged
	// to −36 dB mel SC on speech against a plateau near −18 dB for the fit in the ln domain,
	// which weights near-silent bands like loud ones. Mel.NFFT 0 means STFT.NFFT (it must equal
	// it); Mel.SampleRate 0 means SampleRate. The warm start takes the magnitudes MelStart
	// names, frame by frame (each frame's estimate depends on that frame alone); the preconditioner is the Griffin-Lim one scaled by the running mean of the
	// mel loss's Gauss-Newton curvature over the frames pushed (see retrieval.MelProblem's
	// Precondition), so GLA and FGLA steps are preconditioned gradient steps, not projections;
	// FGLA's extrapolation diverges on the mel loss (speech and music at 22.05 kHz, n_fft 1024,
	// 80 bands), so with Mel the optimizer FGLA (the zero value) means L-BFGS, which reached
	// −32 dB mel SC at ℓ = 3 and 16 iterations per hop on speech (GLA −31, Adam −29 dB).
	Mel     *retrieval.MelConfig
	MelLoss retrieval.MelLoss
	// MelStart, with Mel, selects the magnitudes of each frame's warm start:
	// retrieval.MelStartAuto (the zero value), which Resolve replaces by one of the others by
	// the bins' spacing (retrieval.MelStart.Resolve: harmonic at 25 Hz or finer);
	// retrieval.MelStartHarmonic, the harmonic source-filter estimate of
	// retrieval.MelPenalty.HarmonicMagnitude (retrieval.MelProblem.HarmonicEstimate per frame);
	// retrieval.MelStartLeastSquares, the clipped least-squares magnitudes
	// max(0, Φ⁺·g⁻¹(M))^{1/p}. Measured on HiFi-GAN frames (22.05 kHz, n_fft 1024) of espeak-ng
	// speech at ℓ = 3, 16 iterations per hop, harmonic against least squares: linear SC −16.6
	// against −12.2 dB and mel SC −34.0 against −32.1 dB; synthetic music with drums −15.2
	// against −14.3 dB and −33.4 against −30.9 dB; it costs about 0.1 rtf more on one core (0.20
	// against 0.12 there, about 0.75 ms per frame). At n_fft 512 it gained nothing at 22.05 kHz
	// and lost 0.3–0.6 dB at 48 kHz, for twice the cost (benchmarks/REPORT.md). Neither
	// allocates per frame.
	MelStart retrieval.MelStart
	// MelAnchor, with Mel, is the weight w of an anchor term that pulls each frame in the window
	// toward its own warm-start magnitudes Ŝ_m (the estimate MelStart selects): the loss gains
	// μ·Σ_m ‖|X_m| − Ŝ_m‖² over the full spectrum, μ = w·λ with λ the running curvature of the
	// preconditioner, as retrieval.MelProblem.Anchor does offline (retrieval.MelAnchorPenalty).
	// 0 means DefaultMelAnchor (figures there); a negative value turns it off; NaN, ±Inf and
	// values above retrieval.MaxMelAnchor are errors. Cost: one pass over the bins per frame and evaluation, and a copy of Ŝ per Push.
	MelAnchor float64
	// Precision, if fft.Float32, runs the loss's frame passes (forward FFT, magnitude map,
	// inverse FFT) in single precision, accumulating the gradient in float64
	// (retrieval.FrameLoss.SetPrecision), two frames per complex FFT: about 1.8× faster per hop
	// at n_fft 512, K = 16, where FFTW's single precision and AVX2 are available. In spectral
	// convergence it is within rounding of float64 on average, but at 64 and more iterations per
	// hop on speech a run's figure scatters by up to about 1 dB either way with tiny changes of
	// the input, where float64's does not (benchmarks/REPORT.md). Mel engines compute in float64
	// whatever it says.
	Precision fft.Precision
}

// Resolve fills in defaults and validates c.
func (c Config) Resolve() (Config, error) {
	c.STFT.Framing, c.STFT.Pad = retrieval.Full, retrieval.Zero
	var err error
	if c.STFT, err = c.STFT.Resolve(); err != nil {
		return c, err
	}
	if c.Lookahead < 0 {
		return c, fmt.Errorf("stream: look-ahead %d frames must be ≥ 0", c.Lookahead)
	}
	if c.WarmStart < RTPGHI || c.WarmStart > Noise {
		return c, fmt.Errorf("stream: unknown warm start %d", int(c.WarmStart))
	}
	if c.WarmStart == RTPGHI && c.Lookahead == 0 {
		c.WarmStart = RTPGHICausal // the one-frame delay needs a look-ahead frame
	}
	switch c.Optimizer {
	case FGLA, GLA, LBFGS, Adam, SGDM:
	default:
		return c, fmt.Errorf("stream: the engine does not implement optimizer %v", c.Optimizer)
	}
	if c.Budget < 0 || math.IsNaN(c.Budget) || math.IsInf(c.Budget, 0) {
		return c, fmt.Errorf("stream: budget %g must be a finite fraction ≥ 0 of the hop duration", c.Budget)
	}
	if c.Budget > 0 && c.SampleRate <= 0 {
		return c, fmt.Errorf("stream: a budget needs the sample rate")
	}
	if c.SampleRate < 0 {
		return c, fmt.Errorf("stream: sample rate %d Hz must be positive", c.SampleRate)
	}
	if c.ItersPerHop < 0 {
		return c, fmt.Errorf("stream: %d iterations per hop: want ≥ 0 (0: the warm start alone)", c.ItersPerHop)
	}
	if c.MaxItersPerHop < 0 {
		return c, fmt.Errorf("stream: iteration cap %d must be ≥ 0 (0: none)", c.MaxItersPerHop)
	}
	if c.Alpha == 0 {
		c.Alpha = 0.7
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		return c, fmt.Errorf("stream: FGLA extrapolation α %g: want 0 < α < 1", c.Alpha)
	}
	if math.IsNaN(c.AlphaMax) || c.AlphaMax < 0 {
		return c, fmt.Errorf("stream: FGLA AlphaMax %g: want ≥ 0 (0 or ≤ Alpha: no ramp)", c.AlphaMax)
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.05
		if c.Optimizer == SGDM {
			c.LearningRate = 1
		}
	}
	if c.Momentum == 0 {
		c.Momentum = 0.5
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		return c, fmt.Errorf("stream: learning rate %g must be finite and > 0", c.LearningRate)
	}
	if !(c.Momentum > 0 && c.Momentum < 1) {
		return c, fmt.Errorf("stream: momentum %g must lie in (0, 1)", c.Momentum)
	}
	if c.History <= 0 {
		c.History = 10
	}
	if !(c.FutureWeight >= 0 && c.FutureWeight <= 1) {
		return c, fmt.Errorf("stream: future-frame weight %g must lie in [0, 1]", c.FutureWeight)
	}
	if c.Precision != fft.Float64 && c.Precision != fft.Float32 {
		return c, fmt.Errorf("stream: unknown precision %d", int(c.Precision))
	}
	if c.Mel != nil {
		m := *c.Mel // the caller's struct is not changed
		if m.NFFT == 0 {
			m.NFFT = c.STFT.NFFT
		}
		if m.SampleRate == 0 {
			m.SampleRate = float64(c.SampleRate)
		}
		if m.NFFT != c.STFT.NFFT {
			return c, fmt.Errorf("stream: mel filterbank n_fft %d differs from the STFT's %d", m.NFFT, c.STFT.NFFT)
		}
		c.Mel = &m
		if _, err := c.MelStart.MarshalText(); err != nil {
			return c, fmt.Errorf("stream: %w", err)
		}
		c.MelStart = c.MelStart.Resolve(m.SampleRate, m.NFFT)
		if err := retrieval.CheckMelAnchor(c.MelAnchor); err != nil {
			return c, fmt.Errorf("stream: %w", err)
		}
		if c.MelAnchor == 0 {
			c.MelAnchor = DefaultMelAnchor
		}
		if c.Optimizer == FGLA {
			c.Optimizer = LBFGS
		}
	}
	return c, nil
}

// DefaultMelAnchor is Config.MelAnchor's default, the offline default retrieval.DefaultMelAnchor.
// Measured on HiFi-GAN frames (22.05 kHz, n_fft 1024, 80 bands, ln) at ℓ = 3, medians of five
// runs on inputs perturbed by 1e-5 rms noise: against no anchor it gains 1.0 dB of linear spectral
// convergence on espeak-ng speech at K = 16 (−17.0 → −18.0 dB) and 1.7 dB at K = 64, 1.5–1.8 dB
// on a LibriSpeech segment (−14.6 → −16.1 dB at K = 16), and 0.4 dB on synthetic music with drums
// at K = 16 (−15.4 → −15.7) and 0.7 dB at K = 64, with the mel spectral convergence within 0.5 dB
// on speech and music (speech K = 16: −33.9 → −33.5 dB). A weight of 0.01 gains 0.1–0.4 dB less;
// 0.1 gains 0.1–0.3 dB more on music but costs 0.3–1.4 dB of mel SC there against 0.03 (0.6–0.8
// dB on speech). It gains at every ℓ (single runs, speech K = 16: 1.4 dB at ℓ = 0, 0.9 at ℓ = 1)
// and at coarse bins with the least-squares start (48 kHz, n_fft 512, 80 bands: 0.6–1.5 dB linear,
// 0–1.7 dB mel), where single runs scatter by several dB either way. It costs 3–16 % more time at
// a fixed K (benchmarks/REPORT.md).
const DefaultMelAnchor = retrieval.DefaultMelAnchor

// Latency is an engine's algorithmic latency, in samples (seconds where the sample rate is
// known).
type Latency struct {
	// FramesToAudio is ℓ·hop: how far the first sample of a hop's audio lags behind the arrival
	// of the frame that completes it (frames in → audio out).
	FramesToAudio int
	// AudioToAudio is n_fft + ℓ·hop: audio in → analysis → engine → audio out through a loop
	// that moves one hop per block (the analysis window, the look-ahead and one hop of block
	// buffering).
	AudioToAudio int
	// FileDelay is AudioToAudio − hop: the offset of the output stream against the input when
	// no block buffering applies (files); outputs are compensated by dropping it.
	FileDelay int
}

// Engine is the streaming phase-reconstruction engine. Frame j (Bins() magnitudes of the
// unnormalised one-sided DFT of the windowed samples [j·hop, j·hop + n_fft) of the signal, as
// Analyzer produces them) goes in with Push, which writes one hop of output: the output stream is
// the reconstructed signal delayed by ℓ·hop samples (ℓ·hop leading zeros). Flush writes the
// remaining FlushLen() samples after the last frame.
//
// Per frame it (1) slides the working buffer by one hop, (2) warm-starts the new frame,
// (3) runs the optimizer on the samples not yet emitted, with the loss of every frame touching
// them (emitted samples are constants, their frames still count), (4) emits the oldest hop. The
// working window holds ℓ + ⌈n_fft/hop⌉ frames; one iteration costs about that many FFT pairs of
// size n_fft (L-BFGS: plus line-search evaluations).
//
// Push and Flush do not allocate. Not safe for concurrent use.
type Engine struct {
	cfg             Config
	nfft, hop, bins int
	rows            int // frames in the window: ℓ + ⌈N/a⌉
	size            int // buffer length (rows−1)·hop + nfft
	fixed0          int // first buffer index not yet emitted, right after the slide
	win             []float64
	invD            []float64 // 1/(2N·Σw²) steady state, per buffer index
	miss            []float64 // Σw² of frames not yet in the loss, per buffer index
	futureW         float64
	olaNorm         []float64 // 1/Σw²
	buf, grad       []float64
	width           int                         // values per pushed frame: bins, or n_mels
	row             int                         // tgt's values per frame: width, or n_mels + bins anchored
	tgt             []float64                   // rows × row: the loss's targets (mel: decompressed, Φ·|X|^p [| Ŝ])
	lin             []float64                   // rows × bins: linear magnitudes for the warm start (tgt without Mel)
	mel             *retrieval.MelPenalty       // the loss: MelLoss{Power: p}, in the linear domain
	melIn           *retrieval.MelPenalty       // the frames' storage (MelLoss): validation, g⁻¹
	anchor          *retrieval.MelAnchorPenalty // mel with MelAnchor > 0: the loss, mel's plus the anchor
	melScratch      []float64                   // n_mels
	melPow          []float64                   // bins: MelFrame's |X|² for power 2
	curvSum         float64                     // mel: Σ of the pushed frames' curvature estimates
	curvN           int
	loss            *retrieval.FrameLoss
	plan            *fft.Plan
	spec            []complex128
	frame, phase    []float64
	pghi            *rtpghi
	rng             *rand.Rand
	opt             optim.Stepper
	slider          optim.Sliding // opt's sliding state, if it has any
	prob            windowProblem
	cover           []float64     // Adam: per-sample coverage of the loss's frames
	iterEst         time.Duration // running mean of one iteration's time (deadline mode)
	margin          time.Duration // deadline mode: what the loop keeps back for the tail (deadlineMargin)
	pushed          int           // frames pushed since Reset
	pending         int           // rows at the end not yet warm-started (RTPGHI: 1)
	flushed         bool
	stats           Stats
	hopDur          time.Duration
}

// NewEngine plans an engine (FFT plans, buffers; O((ℓ + n_fft/hop)·n_fft) memory). It returns an
// error for an invalid configuration.
func NewEngine(cfg Config) (*Engine, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	n, a := c.STFT.NFFT, c.STFT.Hop
	e := &Engine{cfg: c, nfft: n, hop: a, bins: c.STFT.Bins()}
	e.rows = c.Lookahead + (n+a-1)/a
	e.size = (e.rows-1)*a + n
	e.fixed0 = (e.rows - c.Lookahead - 1) * a
	e.win = c.STFT.WindowSamples()
	e.buf, e.grad = make([]float64, e.size), make([]float64, e.size)
	e.width, e.row = e.bins, e.bins
	e.loss = retrieval.NewFrameLoss(n, a, e.win)
	if c.Mel != nil {
		fb, err := retrieval.NewMel(*c.Mel)
		if err != nil {
			e.loss.Close()
			return nil, fmt.Errorf("stream: %w", err)
		}
		if e.melIn, err = retrieval.NewMelPenalty(fb, c.MelLoss); err == nil {
			e.mel, err = retrieval.NewMelPenalty(fb, retrieval.MelLoss{Power: c.MelLoss.Power})
		}
		if err != nil {
			e.loss.Close()
			return nil, fmt.Errorf("stream: %w", err)
		}
		e.width = fb.NMels()
		e.melScratch, e.melPow = make([]float64, e.width), make([]float64, e.bins)
		e.lin = make([]float64, e.rows*e.bins)
		e.row = e.width
		if c.MelAnchor > 0 {
			e.anchor = e.mel.Anchored()
			e.row = e.anchor.Width()
			e.loss.SetPenalty(e.anchor)
		} else {
			e.loss.SetPenalty(e.mel)
		}
		if c.MelStart == retrieval.MelStartHarmonic {
			e.mel.PlanHarmonic(e.win)
		}
	}
	e.tgt = make([]float64, e.rows*e.row)
	if e.mel == nil {
		e.loss.SetPrecision(c.Precision)
	}
	if e.mel == nil {
		e.lin = e.tgt
	}
	e.invD, e.olaNorm = make([]float64, e.size), make([]float64, e.size)
	e.miss, e.futureW = make([]float64, e.size), c.FutureWeight
	// Steady-state overlap energy: every frame position on the hop grid, including those
	// outside the window, as once the stream has filled it.
	for i := range e.size {
		s := 0.0
		for o := i % a; o < n; o += a {
			s += e.win[o] * e.win[o]
		}
		if s > 1e-12 {
			e.olaNorm[i] = 1 / s
			e.invD[i] = 1 / (2 * float64(n) * s)
		}
	}
	e.plan = fft.New(n)
	e.spec = make([]complex128, e.bins)
	e.frame, e.phase = make([]float64, n), make([]float64, e.bins)
	e.pghi = newRTPGHI(c.STFT, c.Seed)
	e.opt = newStepper(c, e.size)
	e.slider, _ = e.opt.(optim.Sliding)
	e.prob.e = e
	if c.Optimizer == Adam {
		e.cover = make([]float64, e.size)
	}
	if c.SampleRate > 0 {
		e.hopDur = time.Duration(float64(a) / float64(c.SampleRate) * float64(time.Second))
	}
	e.Reset()
	return e, nil
}

// Close releases the FFT plans.
func (e *Engine) Close() {
	e.loss.Close()
	e.plan.Close()
}

// Config returns the resolved configuration.
func (e *Engine) Config() Config { return e.cfg }

// Bins returns the length of a frame Push takes: n_fft/2 + 1, or n_mels with Config.Mel.
func (e *Engine) Bins() int { return e.width }

// MelFrame writes into dst (Bins() values) the frame a mel engine takes for a frame of linear
// magnitudes mag (n_fft/2 + 1): g(Φ·mag^p) as Config.MelLoss stores it; it returns dst. This is
// the mel bottleneck of a Pipeline (analysis → mel → resynthesis). It panics on an engine without
// Config.Mel or on wrong lengths, and does not allocate.
func (e *Engine) MelFrame(dst, mag []float64) []float64 {
	if e.mel == nil {
		panic("stream: MelFrame on an engine without Config.Mel")
	}
	if len(dst) != e.width || len(mag) != e.bins {
		panic(fmt.Sprintf("stream: MelFrame into %d bands from %d bins, want %d and %d", len(dst), len(mag), e.width, e.bins))
	}
	return e.melIn.Frame(dst, mag, e.melPow)
}

// Hop returns the hop length, the number of samples Push writes.
func (e *Engine) Hop() int { return e.hop }

// FlushLen returns the number of samples Flush writes: ℓ·hop + n_fft − hop rounded to the hop
// grid.
func (e *Engine) FlushLen() int { return e.size - e.fixed0 - e.hop }

// Latency returns the engine's algorithmic latency.
func (e *Engine) Latency() Latency {
	l := e.cfg.Lookahead * e.hop
	pad := e.cfg.STFT.Padding() // (⌈N/a⌉−1)·a: the analysis's leading zeros
	return Latency{FramesToAudio: l, AudioToAudio: l + pad + e.hop, FileDelay: l + pad}
}

// Stats returns the counters since Reset.
func (e *Engine) Stats() *Stats { return &e.stats }

// Reset clears the stream: the next Push is frame 0. It does not allocate.
func (e *Engine) Reset() {
	clear(e.buf)
	clear(e.grad)
	clear(e.tgt)
	clear(e.lin)
	e.curvSum, e.curvN = 0, 0
	e.pushed, e.pending, e.flushed = 0, 0, false
	e.pghi.reset()
	e.rng = rand.New(rand.NewPCG(e.cfg.Seed, 0xda3e39cb94b95bdb))
	if e.slider != nil {
		e.slider.Reset()
	}
	e.stats.reset()
}

// FrameError reports an invalid frame pushed into an Engine.
type FrameError struct {
	Frame     int // index since Reset
	Bin       int // −1 for a wrong length
	Value     float64
	Len, Want int  // bins given and expected, for a wrong length
	Mel       bool // a mel engine's frame: Bin is a mel band
	// Linear is a mel value's linear magnitude g⁻¹(v)^{1/p} when that is what is wrong (above
	// retrieval.MaxMagnitude, or +Inf); 0 otherwise.
	Linear float64
}

func (f *FrameError) Error() string {
	switch {
	case f.Bin < 0:
		return fmt.Sprintf("frame %d has %d bins, want %d", f.Frame, f.Len, f.Want)
	case f.Linear != 0:
		return fmt.Sprintf("frame %d, mel band %d: value %v is %g as a linear magnitude, above the largest accepted, %g", f.Frame, f.Bin, f.Value, f.Linear, retrieval.MaxMagnitude)
	case f.Mel:
		return fmt.Sprintf("frame %d, mel band %d: value %v (want a finite value, ≥ 0 without log compression)", f.Frame, f.Bin, f.Value)
	}
	return fmt.Sprintf("frame %d, bin %d: magnitude %v (want a finite value ≥ 0, at most %g)", f.Frame, f.Bin, f.Value, retrieval.MaxMagnitude)
}

// Push takes frame j (Bins() linear magnitudes) and writes the next hop of output into
// dst[:Hop()]. The first ℓ calls write the look-ahead's leading zeros. It returns a *FrameError,
// without changing the engine's state, for a frame of the wrong length or with NaN, Inf,
// negative or too large values (above retrieval.MaxMagnitude as linear magnitudes; for mel
// frames, MelPenalty.Valid), and panics if dst is shorter than Hop() or after Flush.
func (e *Engine) Push(dst, mag []float64) error {
	if len(dst) < e.hop {
		panic(fmt.Sprintf("stream: Push into %d samples, want %d", len(dst), e.hop))
	}
	if e.flushed {
		panic("stream: Push after Flush without Reset")
	}
	if len(mag) != e.width {
		return &FrameError{Frame: e.pushed, Bin: -1, Len: len(mag), Want: e.width}
	}
	for k, v := range mag {
		if e.mel != nil {
			if lin, ok := e.melIn.LinearOf(v); !ok {
				return &FrameError{Frame: e.pushed, Bin: k, Value: v, Mel: true, Linear: lin}
			}
		}
		if e.mel == nil && !retrieval.ValidMagnitude(v) {
			return &FrameError{Frame: e.pushed, Bin: k, Value: v}
		}
	}
	t0 := time.Now()
	a, b, wd := e.hop, e.bins, e.row
	// 1. Slide by one hop.
	copy(e.buf, e.buf[a:])
	clear(e.buf[e.size-a:])
	copy(e.tgt, e.tgt[wd:])
	last := e.tgt[(e.rows-1)*wd : (e.rows-1)*wd+e.width]
	copy(last, mag)
	if e.mel != nil {
		e.melIn.Decompress(last, last)
		copy(e.lin, e.lin[b:])
		est := e.lin[(e.rows-1)*b:]
		if e.cfg.MelStart == retrieval.MelStartHarmonic {
			e.mel.HarmonicMagnitude(est, last, e.melScratch)
		} else {
			e.mel.LinearMagnitude(est, last, e.melScratch)
		}
		s, n := e.mel.FrameCurvature(last, e.melScratch)
		e.curvSum, e.curvN = e.curvSum+s, e.curvN+n
		if e.anchor != nil {
			copy(e.tgt[(e.rows-1)*wd+e.width:], est) // the row's Ŝ
			e.anchor.SetWeight(e.cfg.MelAnchor * e.melCurvature())
		}
	}
	if e.slider != nil {
		e.slider.Slide(a)
	}
	e.pushed++
	// 2. Warm start.
	if e.cfg.WarmStart == RTPGHI {
		e.pending = 1
		if e.pushed >= 2 {
			r := e.rows - 2
			var prev []float64
			if e.pushed >= 3 {
				prev = e.lin[(r-1)*b : r*b]
			}
			e.warmStart(r, prev, e.lin[(r+1)*b:(r+2)*b])
		}
	} else {
		var prev []float64
		if e.pushed >= 2 {
			prev = e.lin[(e.rows-2)*b : (e.rows-1)*b]
		}
		e.warmStart(e.rows-1, prev, nil)
	}
	// 3. Optimise, 4. emit.
	e.iterate(t0, false)
	copy(dst[:a], e.buf[e.fixed0:e.fixed0+a])
	took := time.Since(t0)
	e.stats.record(took, e.hopDur)
	if e.cfg.Budget > 0 {
		e.deadlineMargin(took)
	}
	return nil
}

// Flush finishes the stream: warm-starts a pending frame, runs one more hop's worth of
// iterations and writes the remaining FlushLen() samples into dst, which it panics if shorter.
// After Flush only Reset is allowed.
func (e *Engine) Flush(dst []float64) {
	n := e.FlushLen()
	if len(dst) < n {
		panic(fmt.Sprintf("stream: Flush into %d samples, want %d", len(dst), n))
	}
	if e.flushed {
		panic("stream: Flush twice without Reset")
	}
	t0 := time.Now()
	if e.pending > 0 && e.pushed >= 1 {
		b := e.bins
		r := e.rows - 1
		var prev []float64
		if e.pushed >= 2 {
			prev = e.lin[(r-1)*b : r*b]
		}
		e.warmStart(r, prev, nil)
		e.pending = 0
	}
	e.iterate(t0, true)
	copy(dst[:n], e.buf[e.fixed0+e.hop:])
	e.flushed = true
}

// window returns the frame rows [m0, m1) of the loss and the first free buffer index.
func (e *Engine) window(flush bool) (m0, m1, fixed int) {
	m0 = max(0, e.rows-e.pushed)
	m1 = e.rows - e.pending
	fixed = e.fixed0
	if flush {
		fixed += e.hop
	}
	fixed = max(fixed, m0*e.hop) // no frame reaches samples before frame 0: they stay zero
	return
}

func (e *Engine) iterate(t0 time.Time, flush bool) {
	m0, m1, fixed := e.window(flush)
	if m1 <= m0 {
		e.stats.recordIterations(0)
		return
	}
	if e.futureW > 0 {
		// Frames m1, m1+1, … (rows past the loss, arrived or not) overlapping the buffer.
		clear(e.miss)
		for start := m1 * e.hop; start < e.size; start += e.hop {
			for i := start; i < min(e.size, start+e.nfft); i++ {
				w := e.win[i-start]
				e.miss[i] += w * w
			}
		}
	}
	e.prob.m0, e.prob.m1, e.prob.fixed = m0, m1, fixed
	if a, ok := e.opt.(*optim.Adam); ok {
		e.adamStep(a, m0, m1)
	}

	if e.cfg.Budget == 0 && e.cfg.ItersPerHop <= 0 {
		e.stats.recordIterations(0)
		return
	}
	e.opt.Start(&e.prob, e.buf, fixed)
	n, limit := 0, e.maxIters()
	if e.cfg.Budget == 0 {
		for n < min(e.cfg.ItersPerHop, limit) {
			n++
			if e.opt.Step(&e.prob) {
				break
			}
		}
		e.stats.recordIterations(n)
		return
	}
	// Deadline: start another iteration while the time spent on this frame plus the running
	// mean of one iteration stays within the budget, so that a hop overruns it by at most the
	// difference between one iteration and the mean.
	deadline := time.Duration(e.cfg.Budget * float64(e.hopDur))
	// At least one iteration runs, so that the estimate keeps following the machine after a
	// slow spell; an iteration slower than 4× the estimate (the thread was preempted) counts
	// as 4×.
	for n < limit {
		if n > 0 && time.Since(t0)+e.iterEst > deadline-e.margin {
			break
		}
		s := time.Now()
		n++
		stalled := e.opt.Step(&e.prob)
		d := time.Since(s)
		if e.iterEst == 0 {
			e.iterEst = d
		} else {
			e.iterEst += (min(d, 4*e.iterEst) - e.iterEst) / 16
		}
		if stalled {
			break
		}
	}
	e.stats.recordIterations(n)
}

// deadlineMargin updates the time the deadline loop keeps back so that about 1 % of hops take
// longer than Budget × hop: iterations vary around their running mean (cache misses, interrupts,
// a preempted thread), and the loop, which stops when the next iteration is due to end past the
// deadline, overran it by 5 % at the 99th percentile on a JACK dummy device (48 kHz, hop 128,
// budget 0.5). The margin tracks that percentile by stochastic approximation (a quantile
// tracker): it grows by one mean iteration after a hop that took longer than the budget and
// shrinks by a hundredth of one after a hop that did not, so it settles where overruns occur in
// 1 % of hops. It never goes below zero or above half the budget.
func (e *Engine) deadlineMargin(took time.Duration) {
	deadline := time.Duration(e.cfg.Budget * float64(e.hopDur))
	if took > deadline {
		e.margin += e.iterEst
	} else {
		e.margin -= e.iterEst / 100
	}
	e.margin = max(0, min(e.margin, deadline/2))
}

// maxIters returns the most iterations a hop may run: Config.MaxItersPerHop in deadline mode
// (0: no cap), and for L-BFGS at most lbfgsItersPerHop whatever ItersPerHop or Budget allow.
func (e *Engine) maxIters() int {
	limit := math.MaxInt
	if e.cfg.Budget > 0 && e.cfg.MaxItersPerHop > 0 {
		limit = e.cfg.MaxItersPerHop
	}
	if e.cfg.Optimizer == LBFGS {
		limit = min(limit, lbfgsItersPerHop)
	}
	return limit
}

// lbfgsItersPerHop is the most L-BFGS iterations a hop runs: a larger ItersPerHop or Budget leaves
// the rest of the hop unused. The engine's L-BFGS is chaotic in rounding: which local minimum a run
// lands in depends on every hop's line-search decisions, so changing what a hop does after its 64th
// iteration perturbs the start of every later hop's L-BFGS, and the output's SC moves by several dB
// either way unless the change gains more than that on average. Measured on the bench's 2 s clips
// (espeak-ng speech, synthetic music with and without drums; 16 kHz, n_fft 512, hop 128, ℓ = 0–3)
// under five perturbations of rounding (FFTW's measured or estimated plans, float32 frame passes,
// the seed of negligible bins' random phase): the SC at K = 64 alone moved by up to 10.8 dB;
// continuing with Griffin-Lim steps, as the engine used to, was 0.6 dB worse on average at K = 256
// than stopping (−34.5 against −35.1 dB), lost more than 0.5 dB against K = 64 in 21 of the 60
// input × ℓ × perturbation cases (up to 10.7 dB), and was 0.3 dB worse at K = 512. Also measured
// and dropped: skipping pairs of low curvature (sᵀy < 0.2·sᵀDs) or capping each step at one to
// three Griffin-Lim step lengths in the preconditioner's metric (no miss in one run, but 3–4 dB
// worse at K = 64); Powell damping of the pairs (M. J. D. Powell 1978, "A fast algorithm for
// nonlinearly constrained optimization calculations"; Nocedal & Wright 2006, "Numerical
// Optimization", §18.3) against D or against the current matrix, with or without the continuation;
// L-BFGS for all K iterations (with Powell damping at c = 0.05, 2.9 dB better than the continuation
// on average at K = 256, but still losing against K = 64 in 0–2 of 12 cases per perturbation, and 2
// dB worse at K = 512 than at 256); keeping the iterate of least loss over the oldest frames;
// stopping at a relative decrease of 1e-4 (benchmarks/REPORT.md, "Anytime streaming"). Stopping at
// 64 makes L-BFGS's SC at any K ≥ 64 exactly its SC at 64, and K = 16 → 64 never lost in the 156
// cases measured (the 12 cases under eight perturbations on the 2 s clips and five on 3 s ones): it
// gained 0.2–15 dB, at least 1 dB in all but one.
const lbfgsItersPerHop = 64

// warmStart synthesises buffer row r (a frame) from its linear magnitudes and a phase chosen by
// the warm-start rule and overlap-adds it: buf[o+n] += w[n]·f[n]/Σw², f = irfft(T·e^{iφ}).
// prev and next are the neighbouring frames' magnitudes for RTPGHI (nil when absent).
func (e *Engine) warmStart(r int, prev, next []float64) {
	n, b := e.nfft, e.bins
	o := r * e.hop
	T := e.lin[r*b : (r+1)*b]
	switch e.cfg.WarmStart {
	case RTISI:
		for i, w := range e.win {
			e.frame[i] = w * e.buf[o+i]
		}
		e.plan.Forward(e.spec, e.frame)
		retrieval.ProjectMagnitude(e.spec, T)
	default:
		switch e.cfg.WarmStart {
		case RTPGHI, RTPGHICausal:
			e.pghi.next(e.phase, prev, T, next)
		case Zero:
			clear(e.phase)
		case Noise:
			for k := range e.phase {
				e.phase[k] = 2 * math.Pi * e.rng.Float64()
			}
		}
		// Frame-centre phase → phase relative to the frame's first sample: × e^{−iπk}.
		for k, t := range T {
			s, c := math.Sincos(e.phase[k])
			if k%2 == 1 {
				s, c = -s, -c
			}
			e.spec[k] = complex(t*c, t*s)
		}
	}
	e.plan.Inverse(e.frame, e.spec)
	inv := 1 / float64(n)
	for i, w := range e.win {
		d := w * e.frame[i] * inv * e.olaNorm[o+i]
		e.buf[o+i] += d
		if e.slider != nil {
			e.slider.Shift(o+i, d)
		}
	}
}
