package retrieval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/rephase/rephase/retrieval/fft"
)

// ScalogramProblem is phase retrieval from a scalogram: recover x from T = |CWT(x)| (Scales() ×
// Length()) and, with a low-pass CWT, the real scaling coefficients c (Length() samples), by
// minimising
//
//	F(x) = Σ_j Σ_t (|W_j[t]| − T_j[t])² + Σ_t (L[t] − c[t])²,   W = CWT(x), L = Lowpass(x).
//
// This is MATLAB's cwtmag2sig (Method "gd") without automatic differentiation: with W_j =
// IFFT(Ψ_j·FFT(x)) and G_j = (|W_j| − T_j)·W_j/|W_j| (0 where W_j = 0), the gradient is
//
//	∇F = (2/n)·Re IFFT( Σ_j Ψ_j·FFT(G_j) ),
//
// two FFTs of the transform length n per scale (note: a scalogram is invertible up to
// a sign, and gradient descent on it recovers the signal). The low-pass part enters as a linear
// least-squares term, so it also fixes the sign of the low frequencies.
//
// Not safe for concurrent use (SetThreads spreads Eval and Inconsistency over worker goroutines
// that the Problem owns; Close stops them). Eval and Precondition do not allocate.
type ScalogramProblem struct {
	C *CWT
	scalogramTarget

	invR       []float64    // 1/R on the transform's bins (0 where R vanishes)
	z          []complex128 // gradient accumulator, n
	gk         []complex128 // FFT(G_j), n
	specX      []complex128 // DFT of the signal being evaluated, n
	grad, y    []float64    // Inconsistency scratch
	specY, s   []complex128 // Inconsistency scratch
	rot        []complex128 // AlignGlobalPhase scratch
	la, lb, lc []float64
	magBuf     []float64 // SpectralConvergence scratch
	targetSq   float64   // ‖T‖² + ‖c‖² over the active scales
	magNormSq  float64   // ‖T‖²
	lowSq      float64   // ‖c‖²

	par     *cwtPar         // the worker set; nil: single-threaded
	cleanup runtime.Cleanup // closes par if the Problem is collected unclosed
}

// scalogramTarget is a ScalogramProblem's target: what its threads share.
type scalogramTarget struct {
	mag []float64 // T, scales × samples
	low []float64 // c, samples (nil without low-pass)
}

// NewScalogramProblem binds a scalogram mag (c.Scales() × c.Length(), linear magnitudes, not
// copied) and, for a CWT with IncludeLowpass, its scaling coefficients lowpass (c.Length(),
// signed; nil otherwise) to the transform c. It returns a *MagnitudeError (Frame = scale, Bin =
// sample) for NaN, Inf, negative or larger than MaxMagnitude magnitudes and an error for wrong
// sizes or scaling coefficients that are not finite or exceed MaxMagnitude in absolute value.
func NewScalogramProblem(c *CWT, mag, lowpass []float64) (*ScalogramProblem, error) {
	if len(mag) == 0 {
		return nil, errNoScales
	}
	if len(mag) != len(c.scales)*c.length {
		return nil, fmt.Errorf("retrieval: scalogram has %d values, want scales × samples = %d × %d", len(mag), len(c.scales), c.length)
	}
	if err := CheckMagnitudes(mag, c.length); err != nil {
		return nil, err
	}
	if c.HasLowpass() != (lowpass != nil) {
		return nil, fmt.Errorf("retrieval: scaling coefficients given: %v, but the CWT's IncludeLowpass is %v", lowpass != nil, c.HasLowpass())
	}
	if lowpass != nil && len(lowpass) != c.length {
		return nil, fmt.Errorf("retrieval: %d scaling coefficients, want %d", len(lowpass), c.length)
	}
	p := &ScalogramProblem{C: c, scalogramTarget: scalogramTarget{mag: mag, low: lowpass}}
	for i, v := range lowpass {
		if !ValidMagnitude(math.Abs(v)) {
			return nil, fmt.Errorf("retrieval: scaling coefficient at sample %d is %v (want a finite value of at most %g in absolute value)", i, v, MaxMagnitude)
		}
		p.lowSq += v * v
	}
	for _, v := range mag {
		p.magNormSq += v * v
	}
	p.targetSq = p.magNormSq + p.lowSq
	rmax := 0.0
	for _, r := range c.resp {
		rmax = max(rmax, r)
	}
	p.invR = make([]float64, c.n)
	for k, r := range c.resp {
		if r > 1e-12*rmax {
			p.invR[k] = 1 / max(r, 1e-4*rmax)
		}
	}
	p.z = make([]complex128, c.n)
	p.gk = make([]complex128, c.n)
	p.specX = make([]complex128, c.n)
	return p, nil
}

// Target returns T (scales × samples). Shared; do not modify.
func (p *ScalogramProblem) Target() []float64 { return p.mag }

// residual maps scale j's coefficients w (cropped to the signal) to G = (|w| − T)·w/|w| in place
// and returns Σ (|w| − T)²; for the low-pass row (j < 0) G = w − c.
func (p *scalogramTarget) residual(j int, w []complex128) float64 {
	f := 0.0
	if j < 0 {
		for i, v := range w {
			d := v - complex(p.low[i], 0)
			f += real(d)*real(d) + imag(d)*imag(d)
			w[i] = d
		}
		return f
	}
	// G = (1 − T/|W|)·W, the vectorised kernel of the STFT's magnitude pass.
	return fft.MagnitudeMap(w, p.mag[j*len(w):(j+1)*len(w)], 1, -1)
}

// accumulate adds Ψ_j·FFT(G_j) (φ for j < 0) into p.z, given G_j in c.out's crop.
func (p *ScalogramProblem) accumulate(j int) { p.C.accumulateOn(&p.C.cwtScratch, p.gk, p.z, j) }

// accumulateOn adds Ψ_j·FFT(G_j) (φ for j < 0) into z, given G_j in w.out's crop; gk is scratch
// (n values).
func (c *CWT) accumulateOn(w *cwtScratch, gk, z []complex128, j int) {
	clear(w.out[:c.ext])
	clear(w.out[c.ext+c.length:])
	w.plan.Forward(gk, w.out)
	if j < 0 {
		for k, v := range c.phi {
			z[k] += gk[k] * complex(v, 0)
		}
		return
	}
	k0 := c.band[j][0]
	for i, v := range c.psi[j] {
		z[k0+i] += gk[k0+i] * complex(v, 0)
	}
}

// finish turns p.z into the gradient: grad = fold((2/n)·Re IFFT(z)).
func (p *ScalogramProblem) finish(grad []float64) {
	c := p.C
	c.plan.Inverse(p.gk, p.z)
	p.foldReal(grad, p.gk, 2/float64(c.n))
}

// foldReal writes scale·Re(v) restricted to the signal into dst, adding the mirrored samples of a
// Symmetric extension onto the samples they copy (the adjoint of CWT.load's extension).
func (p *ScalogramProblem) foldReal(dst []float64, v []complex128, scale float64) {
	c := p.C
	for t := range dst {
		dst[t] = scale * real(v[c.ext+t])
	}
	for i := 0; i < c.ext; i++ {
		dst[i] += scale * real(v[c.ext-1-i])                   // left mirror: ext[-i-1] = x[i]
		dst[c.length-1-i] += scale * real(v[c.ext+c.length+i]) // right mirror
	}
}

// Eval returns F(x) and, when grad is not nil, writes ∇F(x) into grad (Length() samples). Cost:
// one FFT, then one inverse FFT per scale (plus one forward per scale and one inverse for the
// gradient). It does not allocate.
func (p *ScalogramProblem) Eval(grad, x []float64) float64 {
	c := p.C
	c.checkSignal(x)
	if grad != nil && len(grad) != c.length {
		panic(fmt.Sprintf("retrieval: gradient has %d samples, want %d", len(grad), c.length))
	}
	c.load(x)
	if p.par != nil {
		f := p.par.eval(grad != nil)
		if grad != nil {
			p.finish(grad)
		}
		return f
	}
	clear(p.z)
	f := 0.0
	for j := range c.scales {
		f += p.residual(j, c.scale(j))
		if grad != nil {
			p.accumulate(j)
		}
	}
	if c.phi != nil {
		f += p.residual(-1, c.lowpass())
		if grad != nil {
			p.accumulate(-1)
		}
	}
	if grad != nil {
		p.finish(grad)
	}
	return f
}

// SetThreads makes Eval and Inconsistency split the filter bank's rows (scales, then the
// low-pass filter) across up to n threads (n ≥ 1; it panics otherwise), each with its own FFT
// plan, scratch and gradient accumulator (4 transform lengths of complex values, and one signal
// length for Inconsistency); the accumulators and the per-thread sums are added in a fixed
// order after the threads finish, so that for a given n the results are the same to the last
// bit from run to run, and within about 1e-15 relative of the single-threaded ones (which they
// equal for n = 1, the default). Transforms shorter than 1024 points (minCWTLength), or fewer
// than 8 rows per thread (minRowsPerThread), stay single-threaded; Threads reports the count in
// use. The n−1 worker goroutines persist until Close or another SetThreads; Eval then allocates
// nothing. SetThreads must not run concurrently with Eval.
func (p *ScalogramProblem) SetThreads(n int) {
	setThreads(p, &p.par, &p.cleanup, n, func(n int) *cwtPar { return newCWTPar(p, n) })
}

// Threads returns the number of threads Eval uses.
func (p *ScalogramProblem) Threads() int { return p.par.threads() }

// Close stops the worker goroutines of SetThreads (a no-op without them) and makes Eval
// single-threaded again. The Problem stays usable; it does not close the CWT.
func (p *ScalogramProblem) Close() { p.SetThreads(1) }

// Precondition applies D⁻¹ to g (Length() samples) in place, where D = IFFT·diag(R)·FFT is the
// frame operator of the filter bank, R[k] = Σ_j Ψ_j[k]² + Ψ_j[−k]² (+ 2φ[k]²) its summed squared
// response (the analogue of the STFT's window overlap energy). Frequencies where R falls below
// 1e-4 of its maximum are divided by that floor instead. With periodic boundary x − D⁻¹∇F(x) is
// exactly the least-squares resynthesis of the target magnitudes with x's phase: one Griffin-Lim
// step for the CWT. With symmetric extension D is applied to the extended signal (an
// approximation). Cost: two FFTs.
func (p *ScalogramProblem) Precondition(g []float64) {
	c := p.C
	c.checkSignal(g)
	c.load(g)
	for k := range c.spec {
		c.spec[k] *= complex(p.invR[k], 0)
	}
	c.plan.Inverse(c.out, c.spec)
	inv := 1 / float64(c.n)
	for t := range g {
		g[t] = inv * real(c.out[c.ext+t])
	}
}

// Inconsistency returns the normalised inconsistency MATLAB's cwtmag2sig reports,
// ‖CWT(ICWT(S)) − S‖ / ‖(T, c)‖ with S the target magnitudes carrying x's phase (and the scaling
// coefficients), ICWT the least-squares inverse: 0 exactly when S is a consistent set of
// coefficients. Cost: about two Evals. Allocates its scratch on first use.
func (p *ScalogramProblem) Inconsistency(x []float64) float64 {
	c := p.C
	if p.grad == nil {
		p.grad = make([]float64, c.length)
		p.y = make([]float64, c.length)
		p.specY = make([]complex128, c.n)
		p.s = make([]complex128, c.length)
	}
	p.Eval(p.grad, x)
	p.Precondition(p.grad)
	for t := range p.y {
		p.y[t] = x[t] - p.grad[t]
	}
	c.load(p.y)
	copy(p.specY, c.spec)
	c.load(x)
	copy(p.specX, c.spec)
	var num float64
	if p.par != nil {
		num = p.par.residual(p.specX, p.specY)
	} else {
		num = p.inconsistencyRows(0, c, &c.cwtScratch, p.s, p.specX, p.specY, 0, c.rows())
	}
	if p.targetSq == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / p.targetSq)
}

// inconsistencyRows adds Inconsistency's terms of the rows [r0, r1) of c's filter bank (see
// CWT.row) onto num in order and returns the sum: per scale ‖W_j(y) − S_j‖² with S_j = T_j·W_j(x)
// /|W_j(x)| (T_j where W_j(x) = 0), and for the low-pass row ‖L(y) − c‖², from the DFTs specX of
// x and specY of y, on the scratch w; s is scratch (Length() values).
func (p *scalogramTarget) inconsistencyRows(num float64, c *CWT, w *cwtScratch, s, specX, specY []complex128, r0, r1 int) float64 {
	for r := r0; r < r1; r++ {
		if r == len(c.scales) {
			for i, v := range c.lowpassOn(w, specY) {
				d := v - complex(p.low[i], 0)
				num += real(d)*real(d) + imag(d)*imag(d)
			}
			continue
		}
		t := p.mag[r*c.length : (r+1)*c.length]
		for i, v := range c.scaleOn(w, specX, r) {
			m := math.Sqrt(real(v)*real(v) + imag(v)*imag(v)) // no overflow at audio magnitudes; Hypot costs 2×
			if m > 0 {
				s[i] = v * complex(t[i]/m, 0)
			} else {
				s[i] = complex(t[i], 0)
			}
		}
		for i, v := range c.scaleOn(w, specY, r) {
			d := v - s[i]
			num += real(d)*real(d) + imag(d)*imag(d)
		}
	}
	return num
}

// SpectralConvergence returns ‖ |CWT(x)| − T ‖_F / ‖T‖_F over the scales (linear; see DB). The
// low-pass part is not a magnitude and is left out. Allocates its scratch on first use.
func (p *ScalogramProblem) SpectralConvergence(x []float64) float64 {
	if p.magBuf == nil {
		p.magBuf = make([]float64, len(p.mag))
	}
	return SpectralConvergence(p.C.Magnitude(p.magBuf, x), p.mag)
}

// rmsEstimate returns the RMS of white noise whose expected scalogram energy equals the
// target's: E Σ‖W_j‖² + ‖L‖² = σ²·(Length()/n)·Σ_k R[k]/2.
func (p *ScalogramProblem) rmsEstimate() float64 {
	c := p.C
	sum := 0.0
	for _, r := range c.resp {
		sum += r
	}
	if sum == 0 || p.targetSq == 0 {
		return 1
	}
	return math.Sqrt(2 * p.targetSq * float64(c.n) / float64(c.length) / sum)
}

// InitialSignal writes the starting signal of init into x (Length() samples): InitNoise, seeded
// white Gaussian noise at the RMS the target implies (MATLAB's cwtmag2sig start); InitZero and InitRandom,
// the least-squares resynthesis of T with zero or seeded uniform random phase (and the scaling
// coefficients). InitPGHI is an error: PGHI is defined for the STFT.
func (p *ScalogramProblem) InitialSignal(x []float64, init Init, seed uint64) error {
	c := p.C
	c.checkSignal(x)
	switch init {
	case InitNoise:
		fillNoise(x, p.rmsEstimate(), seed)
		return nil
	case InitZero, InitRandom:
	default:
		return fmt.Errorf("retrieval: init %v is not defined for scalograms (noise, zero, random)", init)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	clear(p.z)
	for j := range c.scales {
		t := p.mag[j*c.length : (j+1)*c.length]
		for i, v := range t {
			ph := complex(1, 0)
			if init == InitRandom {
				ph = cisPhase(2 * math.Pi * rng.Float64())
			}
			c.out[c.ext+i] = complex(v, 0) * ph
		}
		p.accumulate(j)
	}
	if c.phi != nil {
		for i, v := range p.low {
			c.out[c.ext+i] = complex(v, 0)
		}
		p.accumulate(-1)
	}
	p.finish(x) // 2·Aᵀs
	p.Precondition(x)
	return nil
}

// InvertScalogram recovers a signal whose scalogram approximates p's target, by opt.Optimizer:
// LBFGS, Adam or SGDM (MATLAB's cwtmag2sig defaults to Adam, rephase's CLI to L-BFGS), or
// GLA/FGLA, which here are plain and accelerated steps x − D⁻¹∇F(x): Griffin-Lim for the CWT.
// opt.Init chooses the start when opt.InitialSignal is nil (InitNoise as MATLAB's example; see
// ScalogramProblem.InitialSignal); Tol stops on the normalised inconsistency (MATLAB's
// InconsistencyTolerance, 1e-5 in MATLAB's example). opt.Exact is ignored: padding the signal is
// the caller's choice (see PadSymmetric). With the scaling coefficients and periodic boundary,
// the global phase of the analytic signal, which the scalogram cannot see, is re-fitted to them
// at every inconsistency check (AlignGlobalPhase), restarting the optimizer's memory when it
// moves. Allocates O(Length()·History).
func InvertScalogram(p *ScalogramProblem, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if opt.Threads > 0 {
		p.SetThreads(opt.Threads)
	}
	x, err := startSignal(p.C.length, opt, p.InitialSignal)
	if err != nil {
		return nil, err
	}
	st, err := newStepper(opt, len(x), p.rmsEstimate())
	if err != nil {
		return nil, err
	}
	opt.realign = func(x []float64) bool { return math.Abs(p.AlignGlobalPhase(x)) > 1e-3 }
	return iterate(p, st, x, opt), nil
}

// PadSymmetric returns x extended by left and right half-sample-symmetric mirrored samples, as
// MATLAB's helperPhaseRetrieval pads a signal (10 samples each end) before taking its
// scalogram, to keep the inversion's edge effects off the signal. It panics if a pad exceeds
// len(x).
func PadSymmetric(x []float64, left, right int) []float64 {
	if left > len(x) || right > len(x) || left < 0 || right < 0 {
		panic(fmt.Sprintf("retrieval: PadSymmetric(%d samples, %d, %d)", len(x), left, right))
	}
	out := make([]float64, 0, len(x)+left+right)
	for i := left - 1; i >= 0; i-- {
		out = append(out, x[i])
	}
	out = append(out, x...)
	for i := 0; i < right; i++ {
		out = append(out, x[len(x)-1-i])
	}
	return out
}

// ScalogramPadding returns the padding (left, right) of a length-sample signal: at least minPad
// at each end, grown so that the padded length is a fast FFT length (all prime factors ≤ 7),
// since a periodic CWT's transform length is the signal length.
func ScalogramPadding(length, minPad int) (left, right int) {
	total := fft.NextFastLen(length+2*minPad) - length
	return total / 2, total - total/2
}

// AlignGlobalPhase rotates the analytic part of x in place by the global phase θ that best fits
// the scaling coefficients, and returns θ (radians; 0 when nothing is changed).
//
// With an analytic wavelet (Ψ_j = 0 at DC and at negative frequencies), x_θ = DC + Re(e^{iθ}·z),
// z the analytic signal of x's other bins, has W_j(x_θ) = e^{iθ}·W_j(x): exactly the same
// scalogram for every θ (Mallat & Waldspurger, "Phase retrieval for the Cauchy wavelet
// transform", J. Fourier Anal. Appl. 2015: recovery is up to this global phase, not just a
// sign). Only the real, signed scaling coefficients see θ, and for a signal with little energy
// below the coarsest scale they see it weakly, so gradient descent walks that valley slowly (on
// MATLAB's exponential chirp L-BFGS stalls at θ ≈ 0.9 rad: relative L2 0.53 at −77 dB scalogram
// convergence, 6e-4 once rotated). The low-pass term along the family is
// ‖C + A·cosθ + B·sinθ − c‖², minimised here in closed form over a 1-degree grid refined by
// Newton steps. Cost: five FFTs. Periodic boundary with IncludeLowpass only (otherwise θ is not
// determined by the data, or the rotation is not an exact invariance); it returns 0 then. The
// Nyquist bin is left unrotated (real); the finest scales see it, so the invariance is exact up to
// that one bin.
func (p *ScalogramProblem) AlignGlobalPhase(x []float64) float64 {
	c := p.C
	c.checkSignal(x)
	if c.phi == nil || c.cfg.Boundary != Periodic {
		return 0
	}
	n := c.n
	if p.rot == nil {
		p.rot = make([]complex128, n)
		p.la, p.lb, p.lc = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	c.load(x)
	X := p.rot
	copy(X, c.spec)
	// lowpassOf writes IFFT(φ·S)/n (real) for S built by part(k, X[k]).
	lowpassOf := func(dst []float64, part func(k int, v complex128) complex128) {
		for k := range c.spec {
			c.spec[k] = part(k, X[k]) * complex(c.phi[k], 0)
		}
		c.plan.Inverse(c.spec, c.spec)
		for t := range dst {
			dst[t] = real(c.spec[t]) / float64(n)
		}
	}
	fixed := func(k int) bool { return k == 0 || 2*k == n }
	lowpassOf(p.la, func(k int, v complex128) complex128 { // AC part
		if fixed(k) {
			return 0
		}
		return v
	})
	lowpassOf(p.lb, func(k int, v complex128) complex128 { // AC part rotated by 90°
		switch {
		case fixed(k):
			return 0
		case 2*k < n:
			return v * 1i
		default:
			return v * -1i
		}
	})
	lowpassOf(p.lc, func(k int, v complex128) complex128 { // DC and Nyquist
		if fixed(k) {
			return v
		}
		return 0
	})
	var aa, bb, ab, ra, rb, rr float64
	for t := range p.la {
		a, b, r := p.la[t], p.lb[t], p.lc[t]-p.low[t]
		aa += a * a
		bb += b * b
		ab += a * b
		ra += r * a
		rb += r * b
		rr += r * r
	}
	f := func(th float64) float64 {
		s, co := math.Sincos(th)
		return rr + aa*co*co + bb*s*s + 2*ab*s*co + 2*ra*co + 2*rb*s
	}
	best, bf := 0.0, f(0)
	for i := 1; i < 360; i++ {
		th := float64(i) * math.Pi / 180
		if th > math.Pi {
			th -= 2 * math.Pi
		}
		if v := f(th); v < bf {
			best, bf = th, v
		}
	}
	for range 20 { // Newton on f′(θ) = 0
		s, co := math.Sincos(best)
		d1 := 2*(bb-aa)*s*co + 2*ab*(co*co-s*s) - 2*ra*s + 2*rb*co
		d2 := 2*(bb-aa)*(co*co-s*s) - 8*ab*s*co - 2*ra*co - 2*rb*s
		if d2 <= 0 {
			break
		}
		next := best - d1/d2
		if f(next) > f(best) {
			break
		}
		best = next
	}
	if !(f(best) < f(0)*(1-1e-12)) || math.Abs(best) < 1e-9 {
		return 0
	}
	e := cisPhase(best)
	for k := range c.spec {
		switch {
		case fixed(k):
			c.spec[k] = X[k]
		case 2*k < n:
			c.spec[k] = X[k] * e
		default:
			c.spec[k] = X[k] * complex(real(e), -imag(e))
		}
	}
	c.plan.Inverse(c.spec, c.spec)
	for t := range x {
		x[t] = real(c.spec[t]) / float64(n)
	}
	return best
}
