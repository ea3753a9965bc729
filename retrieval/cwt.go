package retrieval

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rephase/rephase/retrieval/fft"
)

// WaveletFamily names an analytic wavelet defined by its frequency response.
type WaveletFamily int

const (
	// Morse is the generalised Morse wavelet (Olhede & Walden, "Generalized Morse wavelets",
	// IEEE TSP 2002; Lilly & Olhede 2009): ψ̂(ω) = 2·(ω/ω_p)^β·exp(ω_p^γ − ω^γ) for ω > 0, peak
	// frequency ω_p = (β/γ)^(1/γ) rad/sample.
	Morse WaveletFamily = iota
	// Morlet is the analytic Morlet wavelet ("amor" in MATLAB): ψ̂(ω) = 2·exp(−(ω − 6)²/2) for ω > 0.
	Morlet
	// Bump is the bump wavelet: ψ̂(ω) = 2·exp(1 − 1/(1 − ((ω − 5)/0.6)²)) for |ω − 5| < 0.6.
	Bump
)

// Wavelet is an analytic wavelet: real, non-negative frequency response ψ̂(ω), zero for ω ≤ 0,
// peak value 2 (MATLAB's L1 normalisation: a unit-amplitude sinusoid at a scale's centre frequency
// has unit scalogram magnitude there). Gamma and Beta parameterise Morse only; zero values mean
// γ = 3, β = 20. MATLAB's cwt and cwtmag2sig default to Morse (3, 60).
type Wavelet struct {
	Family      WaveletFamily
	Gamma, Beta float64
}

// ParseWavelet parses "morse" (γ 3, β 20), "morse:GAMMA,BETA", "amor" or "morlet", and "bump".
func ParseWavelet(s string) (Wavelet, error) {
	name, params, hasParams := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var w Wavelet
	switch name {
	case "morse":
		w.Family = Morse
		if hasParams {
			g, b, ok := strings.Cut(params, ",")
			var eg, eb error
			w.Gamma, eg = strconv.ParseFloat(strings.TrimSpace(g), 64)
			w.Beta, eb = strconv.ParseFloat(strings.TrimSpace(b), 64)
			if !ok || eg != nil || eb != nil {
				return w, fmt.Errorf("retrieval: wavelet %q: want morse:GAMMA,BETA (e.g. morse:3,60)", s)
			}
		}
	case "amor", "morlet":
		w.Family = Morlet
	case "bump":
		w.Family = Bump
	default:
		return w, fmt.Errorf("retrieval: unknown wavelet %q (morse, morse:GAMMA,BETA, amor, bump)", s)
	}
	if hasParams && w.Family != Morse {
		return w, fmt.Errorf("retrieval: wavelet %q takes no parameters", s)
	}
	return w.resolve()
}

func (w Wavelet) resolve() (Wavelet, error) {
	switch w.Family {
	case Morse:
		if w.Gamma == 0 {
			w.Gamma = 3
		}
		if w.Beta == 0 {
			w.Beta = 20
		}
		// MATLAB's limits: γ ≥ 1, β ≥ γ, and β/γ ≤ 40 (the time-bandwidth product stays sane).
		if !(w.Gamma >= 1) || !(w.Beta >= w.Gamma) || w.Beta/w.Gamma > 40 || math.IsInf(w.Beta, 0) {
			return w, fmt.Errorf("retrieval: Morse wavelet (γ %g, β %g): want γ ≥ 1, β ≥ γ and β/γ ≤ 40", w.Gamma, w.Beta)
		}
	case Morlet, Bump:
		w.Gamma, w.Beta = 0, 0
	default:
		return w, fmt.Errorf("retrieval: unknown wavelet family %d", int(w.Family))
	}
	return w, nil
}

func (w Wavelet) String() string {
	switch w.Family {
	case Morse:
		return fmt.Sprintf("morse(%g,%g)", w.Gamma, w.Beta)
	case Morlet:
		return "amor"
	case Bump:
		return "bump"
	}
	return fmt.Sprintf("Wavelet(%d)", int(w.Family))
}

// PeakFrequency returns ω_p, the frequency (rad/sample) where ψ̂ peaks at unit scale; a scale s
// has centre frequency ω_p/(2π·s) cycles/sample.
func (w Wavelet) PeakFrequency() float64 {
	switch w.Family {
	case Morse:
		return math.Pow(w.Beta/w.Gamma, 1/w.Gamma)
	case Morlet:
		return 6
	default:
		return 5
	}
}

// Response returns ψ̂(ω) at unit scale (ω in rad/sample; any real ω). Resolved wavelets only.
func (w Wavelet) Response(omega float64) float64 {
	if omega <= 0 {
		return 0
	}
	switch w.Family {
	case Morse:
		wp := w.PeakFrequency()
		return 2 * math.Exp(w.Beta*math.Log(omega/wp)-math.Pow(omega, w.Gamma)+math.Pow(wp, w.Gamma))
	case Morlet:
		d := omega - 6
		return 2 * math.Exp(-d*d/2)
	default:
		u := (omega - 5) / 0.6
		if math.Abs(u) >= 1 {
			return 0
		}
		return 2 * math.Exp(1-1/(1-u*u))
	}
}

// support returns ω₁ > ω_p beyond which ψ̂ < 1e-12·peak (the filters are cut there).
func (w Wavelet) support() (lo, hi float64) {
	wp := w.PeakFrequency()
	const tiny = 2e-12
	hi = wp
	for w.Response(hi) > tiny {
		hi *= 1.01
	}
	lo = wp
	for lo > 1e-9 && w.Response(lo) > tiny {
		lo /= 1.01
	}
	return lo, hi
}

// TimeSpread returns σ_t, the time-domain standard deviation (samples) of |ψ(t)|² at unit scale:
// σ_t² = ∫ψ̂′(ω)² dω / ∫ψ̂(ω)² dω, exact for a real (zero-phase) response centred at t = 0.
// Computed by the trapezoidal rule on 1e5 points of the response's support.
func (w Wavelet) TimeSpread() float64 {
	lo, hi := w.support()
	const m = 100000
	h := (hi - lo) / m
	var num, den float64
	for i := 0; i <= m; i++ {
		o := lo + float64(i)*h
		v := w.Response(o)
		d := (w.Response(o+h/2) - w.Response(o-h/2)) / h
		c := 1.0
		if i == 0 || i == m {
			c = 0.5
		}
		num += c * d * d
		den += c * v * v
	}
	return math.Sqrt(num / den)
}

// CWTFreqBounds returns the default frequency limits (Hz) of a CWT of an n-sample signal at
// sample rate fs, as MATLAB's cwtfreqbounds: the minimum frequency is the centre frequency of the
// scale at which two time standard deviations of the wavelet (Wavelet.TimeSpread) span the n
// samples; the maximum is the centre frequency of the scale whose response falls to cutoff
// percent of its peak at the Nyquist frequency (cutoff 100: the peak sits at Nyquist, fmax =
// fs/2; MATLAB's default is 50). It returns an error when cutoff is outside (0, 100] or when the
// signal is too short for the wavelet (minimum ≥ maximum).
func CWTFreqBounds(n int, fs float64, w Wavelet, cutoff float64) (fmin, fmax float64, err error) {
	if w, err = w.resolve(); err != nil {
		return 0, 0, err
	}
	if !(cutoff > 0 && cutoff <= 100) {
		return 0, 0, fmt.Errorf("retrieval: cutoff %g%%, want a percentage in (0, 100]", cutoff)
	}
	if !(fs > 0) || math.IsInf(fs, 0) {
		return 0, 0, fmt.Errorf("retrieval: sample rate %g Hz, want > 0", fs)
	}
	wp := w.PeakFrequency()
	maxScale := float64(n) / (2 * w.TimeSpread())
	fmin = fs * wp / (2 * math.Pi * maxScale)
	// ω_c ≥ ω_p with ψ̂(ω_c) = cutoff% of the peak, by bisection on the decreasing branch.
	target := 2 * cutoff / 100
	lo, hi := wp, wp
	for w.Response(hi) > target {
		hi *= 1.1
	}
	for range 200 {
		mid := (lo + hi) / 2
		if w.Response(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	if cutoff == 100 {
		lo = wp
	}
	fmax = fs * wp / (2 * lo)
	if fmin >= fmax {
		return fmin, fmax, fmt.Errorf("retrieval: a %d-sample signal is too short for the %v wavelet: minimum frequency %.4g Hz ≥ maximum %.4g Hz", n, w, fmin, fmax)
	}
	return fmin, fmax, nil
}

// Boundary is how the CWT treats the ends of the signal.
type Boundary int

const (
	// Periodic: the signal is one period (the FFT's circular convolution); the transform length
	// is the signal length. MATLAB's cwt with ExtendSignal=false; what cwtmag2sig inverts.
	Periodic Boundary = iota
	// Symmetric: the signal is extended by floor(n/2) mirrored samples at each end (half-sample
	// symmetric, MATLAB's ExtendSignal=true), transformed, and the coefficients are cropped back
	// to the n samples.
	Symmetric
)

func (b Boundary) String() string {
	if b == Symmetric {
		return "symmetric"
	}
	return "periodic"
}

// CWTConfig configures a continuous wavelet transform. The zero value is a Morse (3, 20) CWT
// with 10 voices per octave between the CWTFreqBounds defaults (cutoff 50 %), periodic
// boundary, no low-pass part, frequencies in cycles/sample (SampleRate 1).
type CWTConfig struct {
	Wavelet Wavelet
	// VoicesPerOctave is the number of scales per octave, 1..48; 0 means 10.
	VoicesPerOctave int
	// SampleRate in Hz; 0 means 1 (frequencies in cycles/sample).
	SampleRate float64
	// FreqLimits are the lowest and highest centre frequencies (Hz), inside (0, SampleRate/2);
	// zeros mean the CWTFreqBounds defaults for the signal length with Cutoff.
	FreqLimits [2]float64
	// Cutoff is CWTFreqBounds' cutoff (percent) for the default upper limit; 0 means 50.
	Cutoff float64
	// IncludeLowpass adds the scaling (low-pass) filter, so that frequencies below the coarsest
	// scale, DC included, are represented; see CWT.Lowpass.
	IncludeLowpass bool
	Boundary       Boundary
}

// CWT is a planned continuous wavelet transform of signals of one length, computed in the
// frequency domain (MATLAB's cwt, cwtfilterbank): one FFT of the signal, then per scale a product
// with the wavelet's frequency response ψ̂(s·ω) and an inverse FFT. Scales are s_j =
// s_0·2^(j/voices), j = 0..J, finest first, so Frequencies() descend.
//
// Coefficients are laid out scales × samples, row-major (MATLAB's cfs). Not safe for concurrent
// use; the transform methods do not allocate when given destinations.
type CWT struct {
	cfg    CWTConfig
	length int // samples of the signal
	ext    int // mirrored samples added at each end (Symmetric)
	n      int // transform length
	scales []float64
	freqs  []float64
	psi    [][]float64 // per scale, the response on bins band[j][0] ≤ k < band[j][1]
	psiF   [][]float64 // psi / n: the forward transform's filters with the inverse FFT's normalisation
	band   [][2]int
	phi    []float64 // low-pass response on bins 0..n-1 (nil without low-pass)
	phiF   []float64 // phi / n
	resp   []float64 // R[k] = Σ_j ψ_j[k]² + ψ_j[−k]² (+ 2φ[k]²): the frame operator's symbol

	// spec: the signal's DFT (n values).
	spec []complex128
	cwtScratch
}

// cwtScratch is what computing one scale's coefficients from the signal's DFT takes: a plan and
// two buffers of the transform length. buf: a filter's product, zero outside it between uses;
// out: a transform's output (the coefficients). Separate buffers keep every FFT out of place, on
// FFTW's measured plan. A CWT has one; each extra thread of a ScalogramProblem has its own.
type cwtScratch struct {
	plan     *fft.CmplxPlan
	buf, out []complex128
}

// newCWTScratch plans and allocates a cwtScratch for transforms of n points.
func newCWTScratch(n int) cwtScratch {
	return cwtScratch{plan: fft.NewCmplx(n), buf: make([]complex128, n), out: make([]complex128, n)}
}

// NewCWT plans a CWT for signals of length samples. Errors: length < 4; voices outside 1..48;
// frequency limits outside (0, fs/2) or not increasing; a range narrower than one voice step;
// a signal too short for the wavelet; an invalid wavelet.
func NewCWT(cfg CWTConfig, length int) (*CWT, error) {
	var err error
	if cfg.Wavelet, err = cfg.Wavelet.resolve(); err != nil {
		return nil, err
	}
	if length < 4 {
		return nil, fmt.Errorf("retrieval: CWT of a %d-sample signal: need at least 4 samples", length)
	}
	if cfg.VoicesPerOctave == 0 {
		cfg.VoicesPerOctave = 10
	}
	if cfg.VoicesPerOctave < 1 || cfg.VoicesPerOctave > 48 {
		return nil, fmt.Errorf("retrieval: %d voices per octave, want 1..48", cfg.VoicesPerOctave)
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 1
	}
	if cfg.Cutoff == 0 {
		cfg.Cutoff = 50
	}
	fs := cfg.SampleRate
	c := &CWT{cfg: cfg, length: length}
	if cfg.Boundary == Symmetric {
		c.ext = length / 2
		c.n = fft.NextFastLen(length + 2*c.ext)
	} else {
		c.n = length
	}
	if cfg.FreqLimits == [2]float64{} {
		lo, hi, err := CWTFreqBounds(length, fs, cfg.Wavelet, cfg.Cutoff)
		if err != nil {
			return nil, err
		}
		c.cfg.FreqLimits = [2]float64{lo, hi}
	} else {
		lo, hi := cfg.FreqLimits[0], cfg.FreqLimits[1]
		if !(lo > 0 && hi < fs/2 && lo < hi) {
			return nil, fmt.Errorf("retrieval: frequency limits [%g, %g] Hz: want 0 < fmin < fmax < fs/2 = %g Hz", lo, hi, fs/2)
		}
	}
	lo, hi := c.cfg.FreqLimits[0], c.cfg.FreqLimits[1]
	nv := float64(cfg.VoicesPerOctave)
	steps := int(math.Floor(nv*math.Log2(hi/lo) + 1e-9))
	if steps < 1 {
		return nil, fmt.Errorf("retrieval: frequency limits [%.4g, %.4g] Hz span less than one voice (1/%d octave): too few voices or too narrow a range", lo, hi, cfg.VoicesPerOctave)
	}
	wp := cfg.Wavelet.PeakFrequency()
	s0 := fs * wp / (2 * math.Pi * hi)
	loW, hiW := cfg.Wavelet.support()
	omega := func(k int) float64 {
		if k <= c.n/2 {
			return 2 * math.Pi * float64(k) / float64(c.n)
		}
		return -2 * math.Pi * float64(c.n-k) / float64(c.n)
	}
	c.resp = make([]float64, c.n)
	for j := 0; j <= steps; j++ {
		s := s0 * math.Pow(2, float64(j)/nv)
		c.scales = append(c.scales, s)
		c.freqs = append(c.freqs, fs*wp/(2*math.Pi*s))
		k0 := max(1, int(math.Floor(loW/s*float64(c.n)/(2*math.Pi))))
		k1 := min(c.n/2+1, int(math.Ceil(hiW/s*float64(c.n)/(2*math.Pi)))+1)
		if k1 <= k0 {
			k0, k1 = 1, 1
		}
		p := make([]float64, k1-k0)
		for k := k0; k < k1; k++ {
			p[k-k0] = cfg.Wavelet.Response(s * omega(k))
			c.resp[k] += p[k-k0] * p[k-k0]
			c.resp[(c.n-k)%c.n] += p[k-k0] * p[k-k0]
		}
		c.psi = append(c.psi, p)
		c.band = append(c.band, [2]int{k0, k1})
	}
	if cfg.IncludeLowpass {
		c.buildLowpass()
	}
	inv := 1 / float64(c.n)
	for _, p := range c.psi {
		f := make([]float64, len(p))
		for i, v := range p {
			f[i] = v * inv
		}
		c.psiF = append(c.psiF, f)
	}
	if c.phi != nil {
		c.phiF = make([]float64, c.n)
		for k, v := range c.phi {
			c.phiF[k] = v * inv
		}
	}
	c.spec = make([]complex128, c.n)
	c.cwtScratch = newCWTScratch(c.n)
	return c, nil
}

// buildLowpass makes the scaling filter φ, real and even, by continuing the filter bank past its
// coarsest scale s_J (Mallat, "A Wavelet Tour of Signal Processing", §4.3.1):
//
//	φ̂(ω)² = (voices/ln 2)·∫_{s_J·|ω|}^∞ ψ̂(u)²/u du,
//
// the energy the scales beyond s_J would have had (ds/s = ln 2/voices per voice). So the bank's
// summed squared response stays near its plateau from DC up through the coarsest scales instead
// of falling to 0, and the transform, DC and the analytic signal's global phase included, is
// invertible. The coefficients of this filter are real and carry their sign, as cwtmag2sig's
// ScalingCoefficients do.
func (c *CWT) buildLowpass() {
	w := c.cfg.Wavelet
	lo, hi := w.support()
	// G(a) = ∫_a^hi ψ̂(u)²/u du on a log grid, by the trapezoidal rule from the top.
	const m = 4000
	r := math.Log(hi / lo)
	grid := make([]float64, m+1)
	g := make([]float64, m+1)
	integrand := func(u float64) float64 { v := w.Response(u); return v * v } // ·du/u = d(ln u)
	for i := m - 1; i >= 0; i-- {
		grid[i] = lo * math.Exp(r*float64(i)/m)
		g[i] = g[i+1] + (integrand(grid[i])+integrand(lo*math.Exp(r*float64(i+1)/m)))/2*(r/m)
	}
	gOf := func(a float64) float64 {
		if a <= lo {
			return g[0]
		}
		if a >= hi {
			return 0
		}
		f := math.Log(a/lo) / r * m
		i := int(f)
		return g[i] + (f-float64(i))*(g[i+1]-g[i])
	}
	sJ := c.scales[len(c.scales)-1]
	scale := float64(c.cfg.VoicesPerOctave) / math.Ln2
	c.phi = make([]float64, c.n)
	for k := 0; k <= c.n/2; k++ {
		a := sJ * 2 * math.Pi * float64(k) / float64(c.n)
		if a >= hi {
			break
		}
		v := math.Sqrt(scale * gOf(a))
		c.phi[k] = v
		c.phi[(c.n-k)%c.n] = v
	}
	for k := range c.resp {
		c.resp[k] += 2 * c.phi[k] * c.phi[k]
	}
}

// Close releases the FFT plan.
func (c *CWT) Close() { c.plan.Close() }

// Config returns the resolved configuration (FreqLimits filled in).
func (c *CWT) Config() CWTConfig { return c.cfg }

// Length returns the signal length (samples) the CWT was planned for.
func (c *CWT) Length() int { return c.length }

// Scales returns the number of scales (rows of the scalogram), not counting the low-pass part.
func (c *CWT) Scales() int { return len(c.scales) }

// ScaleValues returns the scales s_j (samples per unit-scale sample), finest first. Shared.
func (c *CWT) ScaleValues() []float64 { return c.scales }

// Frequencies returns the centre frequency (Hz) of each scale, highest first. Shared.
func (c *CWT) Frequencies() []float64 { return c.freqs }

// HasLowpass reports whether the transform includes the scaling filter.
func (c *CWT) HasLowpass() bool { return c.phi != nil }

func (c *CWT) checkSignal(x []float64) {
	if len(x) != c.length {
		panic(fmt.Sprintf("retrieval: CWT of %d samples, planned for %d", len(x), c.length))
	}
}

// load writes the (extended) signal's DFT into c.spec.
func (c *CWT) load(x []float64) {
	for i := range c.out {
		t := i - c.ext
		switch {
		case i >= c.length+2*c.ext:
			c.out[i] = 0
		case t < 0:
			c.out[i] = complex(x[-t-1], 0)
		case t >= c.length:
			c.out[i] = complex(x[2*c.length-t-1], 0)
		default:
			c.out[i] = complex(x[t], 0)
		}
	}
	c.plan.Forward(c.spec, c.out)
}

// scale writes scale j's coefficients over the whole transform length into c.out, given c.spec,
// and returns the signal's part of them (normalised).
func (c *CWT) scale(j int) []complex128 { return c.scaleOn(&c.cwtScratch, c.spec, j) }

// scaleOn is scale with the scratch w, from the signal's DFT spec: the coefficients go to w.out.
func (c *CWT) scaleOn(w *cwtScratch, spec []complex128, j int) []complex128 {
	k0, k1 := c.band[j][0], c.band[j][1]
	for i, p := range c.psiF[j] {
		w.buf[k0+i] = spec[k0+i] * complex(p, 0)
	}
	w.plan.Inverse(w.out, w.buf)
	clear(w.buf[k0:k1])
	return w.out[c.ext : c.ext+c.length]
}

// lowpass writes the low-pass coefficients over the transform length into c.out, given c.spec,
// and returns the signal's part.
func (c *CWT) lowpass() []complex128 { return c.lowpassOn(&c.cwtScratch, c.spec) }

// lowpassOn is lowpass with the scratch w, from the signal's DFT spec.
func (c *CWT) lowpassOn(w *cwtScratch, spec []complex128) []complex128 {
	for k, p := range c.phiF {
		w.buf[k] = spec[k] * complex(p, 0)
	}
	w.plan.Inverse(w.out, w.buf)
	clear(w.buf)
	return w.out[c.ext : c.ext+c.length]
}

// rows returns the number of rows of the filter bank: the scales and the low-pass filter if any.
func (c *CWT) rows() int {
	if c.phi != nil {
		return len(c.scales) + 1
	}
	return len(c.scales)
}

// row returns the coefficients of row r of the filter bank on the scratch w, from spec: scale r
// for r < Scales(), the low-pass filter for r = Scales().
func (c *CWT) row(w *cwtScratch, spec []complex128, r int) []complex128 {
	if r == len(c.scales) {
		return c.lowpassOn(w, spec)
	}
	return c.scaleOn(w, spec, r)
}

// Forward writes the complex CWT coefficients of x (Length() samples) into dst (Scales() ×
// Length(), row-major, finest scale first) and returns it; nil dst allocates. Cost: one FFT plus
// one inverse FFT of the transform length per scale.
func (c *CWT) Forward(dst []complex128, x []float64) []complex128 {
	c.checkSignal(x)
	if dst == nil {
		dst = make([]complex128, len(c.scales)*c.length)
	}
	if len(dst) != len(c.scales)*c.length {
		panic(fmt.Sprintf("retrieval: CWT destination has %d values, want scales × samples = %d × %d", len(dst), len(c.scales), c.length))
	}
	c.load(x)
	for j := range c.scales {
		copy(dst[j*c.length:], c.scale(j))
	}
	return dst
}

// Magnitude writes the scalogram |CWT(x)| (Scales() × Length()) into dst and returns it; nil
// allocates.
func (c *CWT) Magnitude(dst []float64, x []float64) []float64 {
	c.checkSignal(x)
	if dst == nil {
		dst = make([]float64, len(c.scales)*c.length)
	}
	if len(dst) != len(c.scales)*c.length {
		panic(fmt.Sprintf("retrieval: scalogram destination has %d values, want scales × samples = %d × %d", len(dst), len(c.scales), c.length))
	}
	c.load(x)
	for j := range c.scales {
		row := dst[j*c.length : (j+1)*c.length]
		for i, v := range c.scale(j) {
			row[i] = math.Hypot(real(v), imag(v))
		}
	}
	return dst
}

// Lowpass writes the scaling coefficients of x (Length() samples, real: the filter is real and
// even) into dst and returns it; nil allocates. It panics without IncludeLowpass.
func (c *CWT) Lowpass(dst []float64, x []float64) []float64 {
	if c.phi == nil {
		panic("retrieval: Lowpass on a CWT without IncludeLowpass")
	}
	c.checkSignal(x)
	if dst == nil {
		dst = make([]float64, c.length)
	}
	if len(dst) != c.length {
		panic(fmt.Sprintf("retrieval: low-pass destination has %d samples, want %d", len(dst), c.length))
	}
	c.load(x)
	for i, v := range c.lowpass() {
		dst[i] = real(v)
	}
	return dst
}

// errNoScales is returned for an empty target.
var errNoScales = errors.New("retrieval: empty scalogram")
