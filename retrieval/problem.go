package retrieval

import (
	"fmt"
	"math"
	"runtime"

	"github.com/rephase/rephase/retrieval/fft"
)

// MaxMagnitude is the largest linear magnitude a target may hold, and the largest a compressed
// or power value (a mel band, a log or power spectrogram) may decompress to, as |X| = y^{1/p}.
// Beyond it the arithmetic overflows: the float32 passes leave float32's range (3.4e38) a little
// above 1e38 (measured at a largest magnitude of 1e39: FGLA returns NaN and L-BFGS loses 8 dB of
// spectral convergence), and float64's sums of squares near 1e160 (every optimizer returns NaN).
// Audio never comes near it: a full-scale 32-bit integer signal at n_fft 65 536 has magnitudes
// below 1e14.
const MaxMagnitude = 1e30

// maxMagnitudeTol is the ceiling's relative tolerance: a value up to MaxMagnitude·(1 + 1e-5) is
// accepted, so that the ceiling stored as float32 passes, as a magnitude (1.00000002e30) or as a
// log or dB value (rounding to float32 moves ln 1e30 by up to 4e-6, a factor 1 + 4e-6).
const maxMagnitudeTol = 1 + 1e-5

// MagnitudeError reports an invalid target value: NaN, ±Inf, negative where it must not be, or
// one whose linear magnitude exceeds MaxMagnitude.
type MagnitudeError struct {
	Frame, Bin int     // position in the frames × bins (or frames × n_mels) array
	Value      float64 // the offending value, as given
	// Linear is the value's linear magnitude when that is what is wrong: above MaxMagnitude or
	// +Inf (e.g. a natural-log value above 69 decompresses to 1e30); 0 otherwise.
	Linear float64
}

func (e *MagnitudeError) Error() string {
	if e.Linear != 0 {
		return fmt.Sprintf("magnitude at frame %d, bin %d is %v: %g as a linear magnitude, above the largest accepted, %g", e.Frame, e.Bin, e.Value, e.Linear, MaxMagnitude)
	}
	return fmt.Sprintf("magnitude at frame %d, bin %d is %v (want a finite value ≥ 0, at most %g)", e.Frame, e.Bin, e.Value, MaxMagnitude)
}

// CheckMagnitudes returns a *MagnitudeError for the first NaN, ±Inf, negative or larger than
// MaxMagnitude value of mag (frames × bins, row-major), or nil.
func CheckMagnitudes(mag []float64, bins int) error {
	for i, v := range mag {
		if !ValidMagnitude(v) {
			return &MagnitudeError{Frame: i / bins, Bin: i % bins, Value: v}
		}
	}
	return nil
}

// clipMagnitudes lowers every value of mag above MaxMagnitude to it: a mel estimate can exceed
// the ceiling that its band values respect (with Slaney-normalised filters, a band of value y
// spreads to bins about 20–30 times larger), and it becomes a Problem's target or an anchor.
func clipMagnitudes(mag []float64) {
	for i, v := range mag {
		if v > MaxMagnitude {
			mag[i] = MaxMagnitude
		}
	}
}

// ValidMagnitude reports whether v can be a linear target magnitude: 0 ≤ v ≤ MaxMagnitude, within
// a relative tolerance of 1e-5 (so 1e30 stored as float32 passes; NaN does not).
func ValidMagnitude(v float64) bool { return v >= 0 && v <= MaxMagnitude*maxMagnitudeTol }

// Problem is phase retrieval for one signal length: recover x from target magnitudes T
// (Frames() × Bins() of its STFT) by minimising the magnitude loss F. It binds an STFT, the target
// and the penalty, and gives every offline algorithm the same objective, gradient and
// preconditioner.
//
// A Problem owns its penalty: several Problems with different Loss settings may share one STFT
// (not concurrently: they use the STFT's FFT plan and scratch). Eval and Precondition do not
// allocate; the metric methods allocate their scratch once, on first use. SetThreads spreads
// Eval, Precondition and Inconsistency over worker goroutines that the Problem owns (Close
// stops them); the Problem itself is still not safe for concurrent use.
type Problem struct {
	S    *STFT
	loss Loss
	fl   *FrameLoss  // this Problem's penalty and frame scratch; borrows S's FFT plan
	mag  []float64   // T, frames × bins
	tgt  []float64   // compressed T (aliases mag for γ = 1)
	invD sampleTable // 1/D, D = 2N·Σ_m w² folded; 0 where no frame covers a sample

	specA   []complex128 // one frame
	yWindow []float64    // Inconsistency's window of the re-synthesised signal
	magNorm float64

	threads int             // SetThreads' request (0: never set)
	par     *stftPar        // the worker set; nil: single-threaded
	cleanup runtime.Cleanup // closes par if the Problem is collected unclosed
}

// NewProblem binds the target magnitudes mag (s.Frames() × s.Bins(), linear, not copied: do not
// modify while the Problem is in use) and the penalty to the STFT s. It returns a
// *MagnitudeError for NaN, Inf, negative or larger than MaxMagnitude magnitudes, and an error for
// a wrong size or an invalid Loss.
func NewProblem(s *STFT, mag []float64, loss Loss) (*Problem, error) {
	if len(mag) != s.frames*s.bins {
		return nil, fmt.Errorf("retrieval: target has %d magnitudes, want frames × bins = %d × %d", len(mag), s.frames, s.bins)
	}
	if err := CheckMagnitudes(mag, s.bins); err != nil {
		return nil, err
	}
	fl := newFrameLossOn(s.plan, s.cfg.Hop, s.win)
	if err := fl.SetLoss(loss); err != nil {
		return nil, err
	}
	p := &Problem{S: s, loss: loss, fl: fl, mag: mag, tgt: mag}
	if fl.gamma != 1 {
		p.tgt = make([]float64, len(mag))
		fl.CompressTarget(p.tgt, mag)
	}
	scale := 1 / (2 * float64(s.cfg.NFFT))
	p.invD = s.invWss.mapped(func(v float64) float64 { return v * scale })
	for _, v := range mag {
		p.magNorm += v * v
	}
	p.magNorm = math.Sqrt(p.magNorm)
	return p, nil
}

// Target returns the target magnitudes T (frames × bins). Shared; do not modify.
func (p *Problem) Target() []float64 { return p.mag }

// Eval returns F(x) and, when grad is not nil, writes ∇F(x) into grad (both Length() samples).
// With Reflect padding the gradient of each mirrored sample is folded back onto the sample it
// mirrors; zero-padded samples are constants. Cost: one forward and one inverse real FFT per frame
// (forward only when grad is nil). It does not allocate.
func (p *Problem) Eval(grad, x []float64) float64 {
	s := p.S
	s.checkSignal(len(x))
	if grad != nil {
		if len(grad) != s.length {
			panic(fmt.Sprintf("retrieval: gradient has %d samples, want %d", len(grad), s.length))
		}
	}
	if p.par != nil {
		return p.par.eval(grad, x) // each thread clears its part of grad
	}
	if grad != nil {
		clear(grad)
	}
	f := 0.0
	for gi := range s.groups {
		f += s.groups[gi].eval(p.fl, grad, x, p.tgt, s.bins)
	}
	return f
}

// SetThreads makes Eval split the frames across up to n threads (n ≥ 1; it panics otherwise):
// each thread takes a contiguous run of frames with its own FFT plan and scratch, and the
// overlap-add where two runs meet is summed in a fixed order after the threads finish, so that
// for a given n the results are the same to the last bit from run to run, and within about
// 1e-15 relative of the single-threaded ones (which they equal for n = 1, the default). Inputs
// too short to gain stay single-threaded: each thread needs at least 64 frames
// (minFramesPerThread); Threads reports the count in use. The n−1 worker goroutines persist
// until Close or another SetThreads; Eval then allocates nothing (one wake-up per thread per
// call). SetThreads allocates O(n·n_fft) and must not run concurrently with Eval.
func (p *Problem) SetThreads(n int) {
	p.threads = n
	setThreads(p, &p.par, &p.cleanup, n, func(n int) *stftPar { return newSTFTPar(p, n) })
}

// Threads returns the number of threads Eval uses (1 unless SetThreads found the input long
// enough).
func (p *Problem) Threads() int { return p.par.threads() }

// Close stops the worker goroutines of SetThreads (a no-op without them) and makes Eval
// single-threaded again. The Problem stays usable; it does not close the STFT.
func (p *Problem) Close() {
	p.SetThreads(1)
	p.fl.SetPrecision(fft.Float64)
}

// SetPrecision selects the floating-point format of Eval's frame passes for the magnitude MSE
// (Loss{} — other losses always run in float64): see FrameLoss.SetPrecision. fft.Float32 is about
// 1.7–1.8× faster per GLA or FGLA iteration at n_fft 512 (frames paired in complex FFTs) and limits the spectral convergence to about −120 dB; its iterates
// differ from Float64's by rounding, which the non-convex iteration amplifies (benchmarks/REPORT.md
// compares the two). It allocates a plan per thread; call it at setup. It panics for an unknown
// precision.
func (p *Problem) SetPrecision(prec fft.Precision) {
	p.fl.SetPrecision(prec)
	if p.par != nil {
		for k := 1; k < len(p.par.shards); k++ {
			p.par.shards[k].fl.SetPrecision(prec)
		}
	}
}

// Precision returns the format SetPrecision selected (fft.Float64 by default).
func (p *Problem) Precision() fft.Precision { return p.fl.Precision() }

// Precondition divides g (Length() samples) in place by D[t] = 2·n_fft·Σ_m w²[t − s_m], the
// window overlap energy folded through the padding. For the magnitude MSE, x − Precondition(∇F(x))
// is exactly one Griffin-Lim iteration (Griffin & Lim 1984) with the least-squares ISTFT, so a
// step size of 1 is the natural unit for every optimizer. Samples no frame covers get 0. It does
// not allocate (D⁻¹ is stored as its ends and one hop-periodic stretch, O(n_fft) values).
func (p *Problem) Precondition(g []float64) {
	if len(g) != p.invD.length {
		panic(fmt.Sprintf("retrieval: Precondition on %d samples, want %d", len(g), p.invD.length))
	}
	if p.par != nil {
		p.par.round(opPrecondition, g, nil)
		return
	}
	p.invD.mulInto(g)
}

// InversePreconditioner returns 1/D for every sample (0 where no frame covers it), e.g. as the
// diagonal initial inverse Hessian of L-BFGS, in a new slice of Length() samples.
func (p *Problem) InversePreconditioner() []float64 { return p.invD.expand(1) }

// Project writes the target magnitudes with the phase of x's STFT, T·X/|X| (T where X = 0), into
// dst (Frames() × Bins(), frame-start convention) and returns it; nil dst allocates. This is the
// projection onto the set of spectrograms with magnitude T used by Griffin-Lim.
func (p *Problem) Project(dst []complex128, x []float64) []complex128 {
	dst = p.S.Forward(dst, x)
	ProjectMagnitude(dst, p.mag)
	return dst
}

// ProjectMagnitude gives every coefficient of spec the magnitude mag[i] and keeps its phase, in
// place: spec[i] = mag[i]·X/|X| with X = spec[i], and mag[i] (phase 0) where X = 0. It is the
// projection onto the spectrograms of magnitude mag that Griffin-Lim and RTISI apply, the one
// implementation used offline (Problem.Project, the framewise metrics) and by the streaming
// engine's RTISI warm start. It does not allocate and panics if len(mag) != len(spec).
func ProjectMagnitude(spec []complex128, mag []float64) {
	if len(mag) != len(spec) {
		panic(fmt.Sprintf("retrieval: ProjectMagnitude of %d coefficients onto %d magnitudes", len(spec), len(mag)))
	}
	for i, v := range spec {
		r := math.Hypot(real(v), imag(v))
		if r > 0 {
			s := mag[i] / r
			spec[i] = complex(real(v)*s, imag(v)*s)
		} else {
			spec[i] = complex(mag[i], 0)
		}
	}
}

// SpectralConvergence returns ‖ |STFT(x)| − T ‖_F / ‖T‖_F (linear; see DB), computed frame by
// frame (no spectrogram-sized scratch).
func (p *Problem) SpectralConvergence(x []float64) float64 {
	num := p.S.magnitudeMisfit(x, p.mag)
	if p.magNorm == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(num) / p.magNorm
}

// Inconsistency returns the normalised inconsistency that MATLAB's stftmag2sig reports,
// ‖Ŝ − S‖_F / ‖T‖_F, where S = T·X/|X| is the target magnitude with x's phase and
// Ŝ = STFT(ISTFT(S)) its re-analysis. It is 0 exactly when S is a consistent spectrogram.
// Cost: about three forward and one inverse FFT per frame, a window of frames at a time; its
// scratch, allocated on the first call, is one window of the re-synthesised signal (about
// 64·n_fft samples, independent of Length()) and one frame.
func (p *Problem) Inconsistency(x []float64) float64 {
	if p.yWindow == nil {
		p.yWindow = make([]float64, p.S.residualWindow())
		p.specA = make([]complex128, p.S.bins)
	}
	var num float64
	if p.par != nil {
		p.S.checkSignal(len(x))
		num = p.par.residual(x, p.yWindow, p.specA)
	} else {
		num = p.S.inconsistencyResidual(x, p.mag, p.yWindow, p.specA)
	}
	if p.magNorm == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num) / p.magNorm
}
