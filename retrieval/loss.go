package retrieval

import (
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval/fft"
)

// Loss selects the per-bin penalty ψ of the magnitude loss
//
//	F(x) = Σ_m Σ_k c_k·ψ(|X[m,k]|; T[m,k]),  c_0 = c_{N/2} = 1, c_k = 2 otherwise
//
// (the full two-sided spectrum written one-sided). The zero value is the magnitude MSE,
// ψ(r; t) = (r − t)².
type Loss struct {
	// Compress is the power-law exponent γ ∈ (0, 1]: ψ(r; t) = (r_ε^γ − t_ε^γ)² with
	// r_ε = sqrt(r² + ε²). 0 or 1 means the plain magnitude MSE, computed without ε.
	// γ < 1 weights quiet bins more, as loudness perception does (γ ≈ 0.3 is common).
	Compress float64
	// Eps is ε, the smoothing that keeps the compressed loss differentiable at r = 0, in the
	// units of |X| (linear magnitude of the unnormalised DFT). Only used when Compress < 1.
	// 0 means 1e-5.
	Eps float64
}

func (l Loss) resolve() (gamma, eps float64, err error) {
	gamma, eps = l.Compress, l.Eps
	if gamma == 0 {
		gamma = 1
	}
	if !(gamma > 0 && gamma <= 1) {
		return 0, 0, fmt.Errorf("retrieval: compression exponent %g must lie in (0, 1]", l.Compress)
	}
	if eps == 0 {
		eps = 1e-5
	}
	if !(eps > 0) || math.IsInf(eps, 0) {
		return 0, 0, fmt.Errorf("retrieval: loss epsilon %g must be positive and finite", l.Eps)
	}
	return gamma, eps, nil
}

// FrameLoss evaluates the magnitude loss and its gradient over a run of consecutive frames of a
// plain sample buffer: frame m covers x[m·hop : m·hop + n_fft]. It is the one implementation of
// the gradient that every algorithm shares — the STFT Problem (offline, whole signal, through its
// padding) and the streaming engine (a sliding window whose oldest samples are already emitted).
//
// The gradient is, with U = X/|X| (0 where X = 0) and ψ' the derivative of the penalty,
//
//	∂F/∂x[m·hop + n] += w[n]·c2r(ψ'(|X[m,·]|)·U[m,·])[n]
//
// where c2r is the unnormalised inverse real FFT (it carries the c_k weights through Hermitian
// symmetry). Cost per frame: one forward and, when a gradient is wanted, one inverse real FFT of
// size n_fft plus O(n_fft) arithmetic. No method allocates. Not safe for concurrent use.
type FrameLoss struct {
	nfft, hop, bins int
	win             []float64
	plan            *fft.Plan
	ownsPlan        bool // false when the plan is borrowed from an STFT (see newFrameLossOn)
	frame           []float64
	spec            []complex128
	gamma, eps2     float64
	pen             FramePenalty    // nil: the magnitude loss of gamma
	width           int             // target values per frame: bins, or pen.Width()
	single          *fft.SinglePass // not nil: the magnitude MSE in single precision
}

// SetPrecision selects the floating-point format of the magnitude MSE's frame passes (the
// default loss: γ = 1, no penalty; the other losses always run in float64). fft.Float32 plans a
// single-precision pass (fft.SinglePass: it allocates and may take milliseconds, so call it at
// setup, never per frame) and makes Eval about 1.8× faster at n_fft 512 where AVX2 and FFTW's
// single precision are available (the loss's frames go two at a time through one complex FFT,
// fft.SinglePass.MagnitudePasses); the gradient is still accumulated in float64.
// fft.Float64 releases it. It panics for another value.
func (f *FrameLoss) SetPrecision(p fft.Precision) {
	switch p {
	case fft.Float64:
		if f.single != nil {
			f.single.Close()
			f.single = nil
		}
	case fft.Float32:
		if f.single == nil {
			f.single = fft.NewSinglePass(f.nfft)
		}
	default:
		panic(fmt.Sprintf("retrieval: unknown precision %d", int(p)))
	}
}

// Precision returns the format set by SetPrecision.
func (f *FrameLoss) Precision() fft.Precision {
	if f.single != nil {
		return fft.Float32
	}
	return fft.Float64
}

// FramePenalty is a loss on one frame's one-sided spectrum X (n_fft/2+1 bins) against a target
// row of Width() values, for FrameLoss.SetPenalty: the mel loss (MelPenalty) is one. Penalty
// returns the frame's loss and, when grad is true, overwrites spec with the spectrum G whose
// unnormalised inverse real FFT is the gradient of the loss with respect to the windowed frame
// (before the window is applied again). Implementations must not allocate.
type FramePenalty interface {
	Width() int
	Penalty(spec []complex128, target []float64, grad bool) float64
}

// SetPenalty makes the loss p's (nil: back to the magnitude loss of SetLoss); target rows are
// then p.Width() values wide (see Eval).
func (f *FrameLoss) SetPenalty(p FramePenalty) {
	f.pen, f.width = p, f.bins
	if p != nil {
		f.width = p.Width()
	}
}

// NewFrameLoss plans the loss for frames of n_fft samples (even) hop samples apart, with the
// n_fft-sample window (copied). The penalty is the magnitude MSE until SetLoss changes it.
// It panics if len(window) != nfft, nfft is odd or hop < 1.
func NewFrameLoss(nfft, hop int, window []float64) *FrameLoss {
	if len(window) != nfft || hop < 1 {
		panic(fmt.Sprintf("retrieval: NewFrameLoss(n_fft=%d, hop=%d) with a %d-sample window", nfft, hop, len(window)))
	}
	f := newFrameLossOn(fft.New(nfft), hop, window)
	f.ownsPlan = true
	return f
}

// newFrameLossOn is NewFrameLoss with a borrowed plan of size len(window): the loss owns its
// penalty and scratch, the caller owns the plan (Close leaves it open). A Problem uses it so that
// every Problem on one STFT has its own penalty while they share the STFT's plan, which is safe
// because neither is safe for concurrent use.
func newFrameLossOn(plan *fft.Plan, hop int, window []float64) *FrameLoss {
	nfft := plan.Len()
	return &FrameLoss{
		nfft: nfft, hop: hop, bins: nfft/2 + 1,
		win:   append([]float64(nil), window...),
		plan:  plan,
		frame: make([]float64, nfft),
		spec:  make([]complex128, nfft/2+1),
		gamma: 1,
		width: nfft/2 + 1,
	}
}

// SetLoss selects the penalty. It returns an error for γ outside (0, 1] or a non-positive ε.
func (f *FrameLoss) SetLoss(l Loss) error {
	gamma, eps, err := l.resolve()
	if err != nil {
		return err
	}
	f.gamma, f.eps2 = gamma, eps*eps
	return nil
}

// CompressTarget writes the compressed target the penalty compares against, t_ε^γ (just t for
// γ = 1), for every magnitude in mag into dst (same length; may alias mag).
func (f *FrameLoss) CompressTarget(dst, mag []float64) {
	if len(dst) != len(mag) {
		panic(fmt.Sprintf("retrieval: CompressTarget dst has %d values, mag %d", len(dst), len(mag)))
	}
	if f.gamma == 1 {
		copy(dst, mag)
		return
	}
	for i, t := range mag {
		dst[i] = math.Pow(t*t+f.eps2, f.gamma/2)
	}
}

// Close releases the FFT plan.
func (f *FrameLoss) Close() {
	if f.ownsPlan {
		f.plan.Close()
	}
	f.SetPrecision(fft.Float64)
}

// Eval returns F restricted to frames m0 ≤ m < m1 of the buffer x, and, when grad is not nil,
// adds ∂F/∂x[t] to grad[t] for every sample t ≥ fixed that those frames touch. Samples below
// fixed are constants (in the streaming engine: already emitted): their gradient is not
// accumulated, and frames lying wholly below fixed cost no inverse FFT, though they still count in
// F.
//
// target holds the compressed target (see CompressTarget) row by row in the same frame numbering
// as x: frame m's n_fft/2+1 bins are target[m·bins : (m+1)·bins] (with a FramePenalty, its Width()
// values per frame instead of bins).
//
// x and grad (if not nil) must hold at least (m1−1)·hop + n_fft samples and target at least
// m1·width values; otherwise Eval panics. It does not allocate.
func (f *FrameLoss) Eval(grad, x, target []float64, m0, m1, fixed int) float64 {
	if m0 < 0 || m1 < m0 {
		panic(fmt.Sprintf("retrieval: Eval frame range [%d, %d)", m0, m1))
	}
	if m1 == m0 {
		return 0
	}
	need := (m1-1)*f.hop + f.nfft
	if len(x) < need || (grad != nil && len(grad) < need) || len(target) < m1*f.width {
		panic(fmt.Sprintf("retrieval: Eval frames [%d, %d) need %d samples and %d target values; have x=%d grad=%d target=%d",
			m0, m1, need, m1*f.width, len(x), len(grad), len(target)))
	}
	total := 0.0
	if f.gamma == 1 && f.pen == nil {
		// The magnitude MSE: ψ'·X/r = 2(1 − t/r)·X, fused around the FFTs, all frames in one
		// call.
		o := m0 * f.hop
		var acc []float64
		if grad != nil {
			acc = grad[o:]
		}
		xs, ts := x[o:], target[m0*f.bins:]
		if f.single != nil {
			return f.single.MagnitudePasses(acc, xs, f.win, ts, f.hop, m1-m0, 2, -2, fixed-o)
		}
		return f.plan.MagnitudePasses(acc, xs, f.win, ts, f.hop, m1-m0, 2, -2, fixed-o, f.frame, f.spec)
	}
	for m := m0; m < m1; m++ {
		o := m * f.hop
		frame := f.frame
		mulTo(frame, f.win, x[o:o+f.nfft])
		f.plan.Forward(f.spec, frame)
		wantGrad := grad != nil && o+f.nfft > fixed
		if f.pen != nil {
			total += f.pen.Penalty(f.spec, target[m*f.width:(m+1)*f.width], wantGrad)
		} else {
			total += f.compressedPenalty(f.spec, target[m*f.bins:(m+1)*f.bins], wantGrad)
		}
		if !wantGrad {
			continue
		}
		f.plan.Inverse(frame, f.spec)
		start := max(0, fixed-o)
		mulAddTo(grad[o+start:o+f.nfft], f.win[start:], frame[start:])
	}
	return total
}

// compressedPenalty returns Σ_k c_k·ψ for one frame's spectrum under the power-compressed loss and,
// if grad, overwrites spec with ∂ψ/∂X (the spectrum whose c2r is the frame's gradient before
// windowing): ψ = (r_ε^γ − t_ε^γ)², ∂ψ/∂X = 2(p − t)·γ·p/r_ε²·X with p = r_ε^γ.
func (f *FrameLoss) compressedPenalty(spec []complex128, tgt []float64, grad bool) float64 {
	tgt = tgt[:len(spec)]
	var sum, d0, dl float64
	for k, v := range spec {
		re, im := real(v), imag(v)
		r2 := re*re + im*im + f.eps2
		p := math.Pow(r2, f.gamma/2)
		d := p - tgt[k]
		sum += d * d
		if k == 0 {
			d0 = d
		}
		dl = d
		if grad {
			s := 2 * d * f.gamma * p / r2
			spec[k] = complex(s*re, s*im)
		}
	}
	return 2*sum - d0*d0 - dl*dl
}
