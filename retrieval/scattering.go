package retrieval

import (
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval/fft"
)

// ScatteringConfig configures a 1-D wavelet scattering transform (Andén & Mallat, "Deep
// scattering spectrum", IEEE TSP 2014) with Kymatio's conventions (Scattering1D, numpy frontend,
// T = 2^J, oversampling 0, average on, array output; Andreux et al., "Kymatio: scattering
// transforms in Python", JMLR 2020). There is no meaningful zero value: use
// DefaultScatteringConfig.
type ScatteringConfig struct {
	// J sets the averaging scale T = 2^J samples of the Gaussian low-pass φ and the output's
	// time step (one coefficient every 2^J samples). 1 ≤ J, 2^J ≤ the signal length.
	J int
	// Q is the number of first-order Morlet wavelets per octave (≥ 1); the second order has one
	// per octave (Kymatio's Q = (Q, 1)).
	Q int
	// MaxOrder is 1 (zeroth and first order) or 2 (and second order, on the paths j2 > j1).
	MaxOrder int
}

// DefaultScatteringConfig returns the setting of the Kymatio example: J 6, Q 8, second order.
func DefaultScatteringConfig() ScatteringConfig { return ScatteringConfig{J: 6, Q: 8, MaxOrder: 2} }

// ScatteringPath describes one output row of a Scattering: Order 0 (the low-passed signal), 1
// (|x ⋆ ψ_λ1| ⋆ φ) or 2 (||x ⋆ ψ_λ1| ⋆ ψ_λ2| ⋆ φ). N, J, Xi and Sigma have Order entries, one
// per wavelet from the first: N the wavelet's index in its filter bank (Kymatio's "key"), J its
// maximal dyadic subsampling (Kymatio's j), Xi its centre frequency and Sigma its bandwidth, both
// in cycles per sample.
type ScatteringPath struct {
	Order     int
	N, J      []int
	Xi, Sigma []float64
}

// morletFilter is one band-pass filter of a bank: its parameters and its real frequency response
// at every subsampling level it is applied at (levels[ℓ] has P/2^ℓ bins).
type morletFilter struct {
	xi, sigma float64
	j         int
	levels    []response
}

// response is a real frequency response with the bin ranges where it is not negligible: the
// filters are narrow-band, so filtering, aliasing and their adjoints only visit spans.
type response struct {
	h     []float64
	spans [][2]int // [lo, hi) bins where |h| > 1e-15·max|h|; h counts as 0 elsewhere
}

func newResponse(h []float64) response {
	peak := 0.0
	for _, v := range h {
		peak = max(peak, math.Abs(v))
	}
	r := response{h: h}
	lo := -1
	for i, v := range h {
		on := math.Abs(v) > 1e-15*peak
		switch {
		case on && lo < 0:
			lo = i
		case !on && lo >= 0:
			r.spans = append(r.spans, [2]int{lo, i})
			lo = -1
		}
	}
	if lo >= 0 {
		r.spans = append(r.spans, [2]int{lo, len(h)})
	}
	return r
}

// Scattering is a planned 1-D scattering transform of signals of one length. The signal is
// reflect-padded to P = 2^Jpad samples (Kymatio's rule: at least three times the low-pass's
// temporal support each side, at most 3·length − 2), every convolution is a product in the
// Fourier domain of the padded length (periodic), first-order wavelets are applied at full rate
// and their moduli subsampled by 2^min(j1, J), second-order ones at that rate, subsampled by
// 2^min(j2, J) overall, and every row is low-passed by φ and subsampled to a step of 2^J samples,
// then cropped back to the signal. Rows come in Kymatio's order: order 0, then order 1 by n1,
// then order 2 by (n1, n2).
//
// Create it once with NewScattering (it allocates the filters, the FFT plans of lengths P/2^ℓ,
// ℓ = 0…J, and its scratch); Transform, and ScatteringProblem's Eval, then do not allocate. Not
// safe for concurrent use.
type Scattering struct {
	cfg                ScatteringConfig
	length, pad        int // signal length, padded length P
	padLeft            int
	start, frames      int // crop of the P/2^J output samples
	phi                []response
	psi1, psi2         []morletFilter
	paths              []ScatteringPath
	children           [][]int // second-order filter indices n2 of each n1, ascending
	rowOf1             []int   // output row of path (n1)
	rowOf2             [][]int // output row of path (n1, children[n1][i])
	plans              []*fft.CmplxPlan
	xpad               []float64
	spec, z0           []complex128 // P
	t1, t2, u1, u1h    []complex128 // P
	z1, t3, u2, u2h    []complex128 // P/2 or P
	s1, s2, s3, dsFull []complex128 // P/2^J
	u1m, u2m, du       []float64    // modulus and its gradient, P
}

// NewScattering plans the scattering transform of cfg for signals of length samples. It returns
// an error for J < 1, 2^J > length, Q < 1 or MaxOrder outside 1…2.
func NewScattering(cfg ScatteringConfig, length int) (*Scattering, error) {
	switch {
	case cfg.J < 1 || cfg.J > 30:
		return nil, fmt.Errorf("retrieval: scattering J %d, want 1 ≤ J ≤ 30", cfg.J)
	case length < 2 || 1<<cfg.J > length:
		return nil, fmt.Errorf("retrieval: scattering of %d samples with J %d: want 2^J ≤ length", length, cfg.J)
	case cfg.Q < 1 || cfg.Q > 64:
		return nil, fmt.Errorf("retrieval: scattering Q %d, want 1 ≤ Q ≤ 64", cfg.Q)
	case cfg.MaxOrder != 1 && cfg.MaxOrder != 2:
		return nil, fmt.Errorf("retrieval: scattering max order %d, want 1 or 2", cfg.MaxOrder)
	}
	s := &Scattering{cfg: cfg, length: length}
	J := cfg.J
	const sigma0 = 0.1
	sigmaLow := sigma0 / float64(int(1)<<J)

	// Padded length: Kymatio's base frontend.
	minPad := 3 * gaussSupport(length, sigmaLow)
	jMax := int(math.Floor(math.Log2(float64(3*length - 2))))
	jPad := min(int(math.Ceil(math.Log2(float64(length+2*minPad)))), jMax)
	s.pad = 1 << jPad
	if s.pad>>J < 1 || s.pad < length {
		return nil, fmt.Errorf("retrieval: scattering of %d samples with J %d: padded length %d too short", length, J, s.pad)
	}
	s.padLeft = (s.pad - length) / 2
	a, b := s.padLeft, s.padLeft+length
	for range J { // Kymatio's compute_border_indices: ceil halving
		a = a/2 + a%2
		b = b/2 + b%2
	}
	s.start, s.frames = a, b-a

	s.plans = make([]*fft.CmplxPlan, J+1)
	for l := range s.plans {
		s.plans[l] = fft.NewCmplx(s.pad >> l)
	}
	P := s.pad
	s.phi = levels(s.plans[0], gaussResponse(P, sigmaLow), J)
	s.psi1 = s.bank(cfg.Q, sigmaLow, false) // σ_min = σ0/2^J, which equals φ's σ0/T for T = 2^J
	if cfg.MaxOrder == 2 {
		s.psi2 = s.bank(1, sigmaLow, true)
	}

	// Paths in Kymatio's order.
	s.paths = append(s.paths, ScatteringPath{})
	s.rowOf1 = make([]int, len(s.psi1))
	for n1, f := range s.psi1 {
		s.rowOf1[n1] = len(s.paths)
		s.paths = append(s.paths, ScatteringPath{Order: 1, N: []int{n1}, J: []int{f.j}, Xi: []float64{f.xi}, Sigma: []float64{f.sigma}})
	}
	s.children = make([][]int, len(s.psi1))
	s.rowOf2 = make([][]int, len(s.psi1))
	for n1, f1 := range s.psi1 {
		for n2, f2 := range s.psi2 {
			if f2.j > f1.j {
				s.children[n1] = append(s.children[n1], n2)
				s.rowOf2[n1] = append(s.rowOf2[n1], len(s.paths))
				s.paths = append(s.paths, ScatteringPath{Order: 2, N: []int{n1, n2}, J: []int{f1.j, f2.j},
					Xi: []float64{f1.xi, f2.xi}, Sigma: []float64{f1.sigma, f2.sigma}})
			}
		}
	}

	s.xpad = make([]float64, P)
	for _, p := range []*[]complex128{&s.spec, &s.z0, &s.t1, &s.t2, &s.u1, &s.u1h, &s.z1, &s.t3, &s.u2, &s.u2h} {
		*p = make([]complex128, P)
	}
	nS := P >> J
	for _, p := range []*[]complex128{&s.s1, &s.s2, &s.s3, &s.dsFull} {
		*p = make([]complex128, nS)
	}
	s.u1m, s.u2m, s.du = make([]float64, P), make([]float64, P), make([]float64, P)
	return s, nil
}

// bank builds a Morlet filter bank with q wavelets per octave (Kymatio's
// compute_params_filterbank: a geometric progression of centre frequencies from
// ξ_max = max(1/(1 + 2^(3/q)), 0.35) down to where the bandwidth reaches sigmaMin, then q − 1
// wavelets of bandwidth sigmaMin evenly spaced towards 0). allLevels keeps the responses at the
// subsampling levels 1…J too (the second order's inputs are subsampled).
func (s *Scattering) bank(q int, sigmaMin float64, allLevels bool) []morletFilter {
	const rPsi = math.Sqrt2 / 2
	const alpha = 5.0
	step := math.Pow(2, 1/float64(q))
	xiMax := max(1/(1+math.Pow(2, 3/float64(q))), 0.35)
	sigmaOf := func(xi float64) float64 {
		f := 1 / step
		return xi * (1 - f) / (1 + f) / math.Sqrt(2*math.Log(1/rPsi))
	}
	var xis, sigmas []float64
	elbow := sigmaOf(xiMax)
	if sm := sigmaOf(xiMax); sm > sigmaMin {
		xis, sigmas = []float64{xiMax}, []float64{sm}
		for sigmas[len(sigmas)-1] > sigmaMin*step {
			xis = append(xis, xis[len(xis)-1]/step)
			sigmas = append(sigmas, sigmas[len(sigmas)-1]/step)
		}
		elbow = xis[len(xis)-1]
	}
	for k := 1; k < q; k++ {
		xis = append(xis, elbow-float64(k)/float64(q)*elbow)
		sigmas = append(sigmas, sigmaMin)
	}
	out := make([]morletFilter, len(xis))
	nl := 0
	if allLevels {
		nl = s.cfg.J
	}
	for i, xi := range xis {
		ub := min(xi+alpha*sigmas[i], 0.5)
		j := int(math.Floor(-math.Log2(ub))) - 1
		out[i] = morletFilter{xi: xi, sigma: sigmas[i], j: j,
			levels: levels(s.plans[0], morletResponse(s.pad, xi, sigmas[i]), nl)}
	}
	return out
}

// periodsFor is Kymatio's adaptive_choice_P: the number P of frequency periods, [1 − P, P), over
// which a Gaussian of bandwidth sigma is summed so that its periodisation is accurate to 1e-7;
// at most 5.
func periodsFor(sigma float64) int {
	return min(int(math.Ceil(math.Sqrt(-2*sigma*sigma*math.Log(1e-7))+1)), 5)
}

// morletResponse returns the frequency response (n bins, numpy's fftfreq order, real) of
// Kymatio's Morlet wavelet of centre xi and bandwidth sigma (cycles per sample): a periodised
// Gaussian at xi minus κ times the periodised Gaussian at 0, κ making the response 0 at DC. It is
// not yet normalised (see levels).
func morletResponse(n int, xi, sigma float64) []float64 {
	P := periodsFor(sigma)
	out := make([]float64, n)
	var g0, l0 float64
	low := make([]float64, n)
	for m := range out {
		var g, l float64
		for r := 1 - P; r < P; r++ {
			f := float64(m)/float64(n) + float64(r)
			g += math.Exp(-(f - xi) * (f - xi) / (2 * sigma * sigma))
			if P > 1 {
				l += math.Exp(-f * f / (2 * sigma * sigma))
			}
		}
		if P == 1 {
			f := fftFreq(m, n)
			l = math.Exp(-f * f / (2 * sigma * sigma))
		}
		out[m], low[m] = g, l
		if m == 0 {
			g0, l0 = g, l
		}
	}
	kappa := g0 / l0
	for m := range out {
		out[m] -= kappa * low[m]
	}
	return out
}

// gaussResponse returns Kymatio's Gaussian low-pass of bandwidth sigma (n bins, fftfreq order,
// periodised as morletResponse, not normalised).
func gaussResponse(n int, sigma float64) []float64 {
	P := periodsFor(sigma)
	out := make([]float64, n)
	for m := range out {
		if P == 1 {
			f := fftFreq(m, n)
			out[m] = math.Exp(-f * f / (2 * sigma * sigma))
			continue
		}
		for r := 1 - P; r < P; r++ {
			f := float64(m)/float64(n) + float64(r)
			out[m] += math.Exp(-f * f / (2 * sigma * sigma))
		}
	}
	return out
}

func fftFreq(m, n int) float64 {
	if m < (n+1)/2 {
		return float64(m) / float64(n)
	}
	return float64(m-n) / float64(n)
}

// l1Normalise scales the response h (plan.Len() bins) to unit L1 norm of its impulse response,
// Σ_t |IDFT(h)[t]| = 1, as Kymatio normalises every filter.
func l1Normalise(plan *fft.CmplxPlan, h []float64) {
	n := len(h)
	a, b := make([]complex128, n), make([]complex128, n)
	for i, v := range h {
		a[i] = complex(v, 0)
	}
	plan.Inverse(b, a)
	sum := 0.0
	for _, v := range b {
		sum += math.Hypot(real(v), imag(v))
	}
	sum /= float64(n)
	for i := range h {
		h[i] /= sum
	}
}

// levels L1-normalises h and returns it with its periodisations at the levels 1…nl:
// levels[ℓ][m] = Σ_r h[m + r·n/2^ℓ], the response to apply to a signal subsampled by 2^ℓ. The
// sum, not the mean, is Kymatio's periodize_filter_fourier at the fixtures' commit: it scales a
// row by 2^ℓ for every subsampling of its input (a first-order row by 2^min(j1,J)), which the
// fixtures confirm.
func levels(plan *fft.CmplxPlan, h []float64, nl int) []response {
	l1Normalise(plan, h)
	out := []response{newResponse(h)}
	for l := 1; l <= nl; l++ {
		k := 1 << l
		m := len(h) / k
		v := make([]float64, m)
		for r := range k {
			for i := range v {
				v[i] += h[r*m+i]
			}
		}
		out = append(out, newResponse(v))
	}
	return out
}

// gaussSupport is Kymatio's compute_temporal_support for the Gaussian low-pass of bandwidth
// sigma on n samples (criterion 1e-3): the smallest half-width T such that the impulse response's
// L1 mass beyond T, within the first half, is at most 1e-3.
func gaussSupport(n int, sigma float64) int {
	h := gaussResponse(n, sigma)
	plan := fft.NewCmplxGonum(n) // one transform of the signal's length: not worth FFTW's planning
	defer plan.Close()
	l1Normalise(plan, h)
	a, b := make([]complex128, n), make([]complex128, n)
	for i, v := range h {
		a[i] = complex(v, 0)
	}
	plan.Inverse(b, a)
	half := n / 2
	tail := 0.0
	T := half
	for t := half - 1; t >= 0; t-- {
		tail += math.Hypot(real(b[t]), imag(b[t])) / float64(n)
		if tail <= 1e-3 {
			T = t + 1
		}
	}
	return T
}

// Close releases the FFT plans at once; the Scattering must not be used afterwards.
func (s *Scattering) Close() {
	for _, p := range s.plans {
		p.Close()
	}
}

// Config returns the configuration.
func (s *Scattering) Config() ScatteringConfig { return s.cfg }

// Length returns the signal length in samples.
func (s *Scattering) Length() int { return s.length }

// PaddedLength returns the reflect-padded transform length P (a power of two).
func (s *Scattering) PaddedLength() int { return s.pad }

// Rows returns the number of output rows (paths).
func (s *Scattering) Rows() int { return len(s.paths) }

// Frames returns the number of coefficients per row: the padded signal's 2^J-subsampled samples
// that fall on the signal, ⌈(padLeft + length)/2^J⌉ − ⌈padLeft/2^J⌉.
func (s *Scattering) Frames() int { return s.frames }

// Paths returns the rows' metadata in output order. Shared; do not modify.
func (s *Scattering) Paths() []ScatteringPath { return s.paths }

func (s *Scattering) checkSignal(x []float64) {
	if len(x) != s.length {
		panic(fmt.Sprintf("retrieval: scattering of %d samples, planned for %d", len(x), s.length))
	}
}

// Transform writes the scattering coefficients of x (Length() samples) into dst (Rows() ×
// Frames(), row-major) and returns it; nil dst allocates, a wrong length panics. Matches Kymatio's
// float64 output to about 1e-14 relative. Cost: one FFT of P, then per first-order path two FFTs
// of P/2^min(j1,J) and two of P/2^J, and the same per second-order path at its rate. It does not
// allocate (given dst).
func (s *Scattering) Transform(dst, x []float64) []float64 {
	s.checkSignal(x)
	if dst == nil {
		dst = make([]float64, len(s.paths)*s.frames)
	}
	if len(dst) != len(s.paths)*s.frames {
		panic(fmt.Sprintf("retrieval: scattering destination has %d values, want %d × %d", len(dst), len(s.paths), s.frames))
	}
	s.run(x, dst, nil, nil, nil)
	return dst
}

// loadPadded reflect-pads x (numpy's "reflect": the edge sample is not repeated) into s.xpad and
// writes its DFT into s.spec.
func (s *Scattering) loadPadded(x []float64) {
	n, L := s.length, s.padLeft
	for i := range s.xpad {
		t := i - L
		switch {
		case t < 0:
			t = -t
		case t >= n:
			t = 2*(n-1) - t
		}
		s.xpad[i] = x[t]
		s.t1[i] = complex(x[t], 0)
	}
	s.plans[0].Forward(s.spec, s.t1)
}

// foldPadded writes the adjoint of loadPadded's extension of v (P real values) into dst.
func (s *Scattering) foldPadded(dst []float64, v []complex128, scale float64) {
	n, L := s.length, s.padLeft
	clear(dst)
	for i, c := range v {
		t := i - L
		switch {
		case t < 0:
			t = -t
		case t >= n:
			t = 2*(n-1) - t
		}
		dst[t] += scale * real(c)
	}
}

// alias writes dst[i] = (1/k)·Σ_r h[i + r·len(dst)]·src[i + r·len(dst)], k = len(src)/len(dst):
// filtering by h followed by subsampling by k in time, on spectra. It visits h's spans only.
func alias(dst, src []complex128, h response) {
	m := len(dst)
	clear(dst)
	inv := 1 / float64(len(src)/m)
	for _, sp := range h.spans {
		i := sp[0] % m
		for k := sp[0]; k < sp[1]; k++ {
			dst[i] += src[k] * complex(inv*h.h[k], 0)
			if i++; i == m {
				i = 0
			}
		}
	}
}

// tileAdd adds h[k]·g[k mod len(g)] into z[k]: the adjoint of alias without its 1/k (zero-insertion
// upsampling then filtering, on spectra). It visits h's spans only.
func tileAdd(z, g []complex128, h response) {
	m := len(g)
	for _, sp := range h.spans {
		i := sp[0] % m
		for k := sp[0]; k < sp[1]; k++ {
			z[k] += g[i] * complex(h.h[k], 0)
			if i++; i == m {
				i = 0
			}
		}
	}
}

// level returns ℓ such that n = P/2^ℓ.
func (s *Scattering) level(n int) int {
	l := 0
	for s.pad>>l > n {
		l++
	}
	return l
}

// lowpassRow low-passes the signal whose spectrum is uh (P/2^ℓ bins) by φ and subsamples it to
// P/2^J samples, writing the cropped row (Frames() values) into out. With target, it returns
// w·Σ (row − target)² and, when z is not nil, adds the adjoint of 2w·(row − target) (a spectrum
// of len(uh) bins) into z.
func (s *Scattering) lowpassRow(out, target []float64, w float64, uh, z []complex128) float64 {
	l := s.level(len(uh))
	nS := len(s.s1)
	alias(s.s1, uh, s.phi[l])
	s.plans[s.cfg.J].Inverse(s.s2, s.s1)
	inv := 1 / float64(nS)
	f := 0.0
	if target == nil {
		for i := range out {
			out[i] = inv * real(s.s2[s.start+i])
		}
		return 0
	}
	clear(s.dsFull)
	for i, t := range target {
		v := inv * real(s.s2[s.start+i])
		if out != nil {
			out[i] = v
		}
		d := v - t
		f += w * d * d
		s.dsFull[s.start+i] = complex(2*w*d, 0)
	}
	if z != nil {
		s.plans[s.cfg.J].Forward(s.s3, s.dsFull)
		tileAdd(z, s.s3, s.phi[l])
	}
	return f
}

// waveletModulus filters the spectrum src by h and subsamples it to len(u) = P/2^l samples
// (alias), writing the complex wavelet coefficients into u, their modulus into m (returned,
// len(u) values) and the modulus's spectrum into uh; t is scratch of len(u).
func (s *Scattering) waveletModulus(u, uh, t []complex128, m []float64, src []complex128, h response, l int) []float64 {
	alias(t, src, h)
	s.plans[l].Inverse(u, t)
	inv := 1 / float64(len(u))
	m = m[:len(u)]
	for i, v := range u {
		v *= complex(inv, 0)
		u[i] = v
		m[i] = math.Sqrt(real(v)*real(v) + imag(v)*imag(v))
		t[i] = complex(m[i], 0)
	}
	s.plans[l].Forward(uh, t)
	return m
}

// run computes the transform of x into out (if not nil) and, with target, returns
// F = Σ_r w[r]·Σ_t (S[r,t] − target[r,t])² (w nil: all 1) and writes ∇F into grad (if not nil). One implementation for Transform and
// ScatteringProblem.Eval: the loss is a sum over rows, so each row's adjoint runs as soon as its
// residual is known and nothing per path is kept.
func (s *Scattering) run(x, out, target, grad, w []float64) float64 {
	s.loadPadded(x)
	J, fr := s.cfg.J, s.frames
	P := s.pad
	back := grad != nil
	weight := func(r int) float64 {
		if w == nil {
			return 1
		}
		return w[r]
	}
	rowSlice := func(buf []float64, r int) []float64 {
		if buf == nil {
			return nil
		}
		return buf[r*fr : (r+1)*fr]
	}
	var z0 []complex128
	if back {
		z0 = s.z0
		clear(z0)
	}
	f := s.lowpassRow(rowSlice(out, 0), rowSlice(target, 0), weight(0), s.spec, z0)
	for n1, f1 := range s.psi1 {
		k1 := min(f1.j, J)
		n1len := P >> k1
		u1, u1h := s.u1[:n1len], s.u1h[:n1len]
		m1 := s.waveletModulus(u1, u1h, s.t2[:n1len], s.u1m, s.spec, f1.levels[0], k1)
		var z1 []complex128
		if back {
			z1 = s.z1[:n1len]
			clear(z1)
		}
		r := s.rowOf1[n1]
		f += s.lowpassRow(rowSlice(out, r), rowSlice(target, r), weight(r), u1h, z1)
		for ci, n2 := range s.children[n1] {
			f2 := s.psi2[n2]
			k2 := max(min(f2.j, J)-k1, 0)
			n2len := n1len >> k2
			u2, u2h := s.u2[:n2len], s.u2h[:n2len]
			m2 := s.waveletModulus(u2, u2h, s.t3[:n2len], s.u2m, u1h, f2.levels[k1], k1+k2)
			r2 := s.rowOf2[n1][ci]
			if !back {
				f += s.lowpassRow(rowSlice(out, r2), rowSlice(target, r2), weight(r2), u2h, nil)
				continue
			}
			// dU2 = Re IDFT(z2)/n2, z2 the adjoint spectrum of the low-pass row.
			z2 := s.t1[:n2len]
			clear(z2)
			f += s.lowpassRow(rowSlice(out, r2), rowSlice(target, r2), weight(r2), u2h, z2)
			s.modulusAdjoint(u2h, k1+k2, u2, m2, z2)
			tileAdd(z1, s.u2h[:n2len], f2.levels[k1])
		}
		if back {
			s.modulusAdjoint(u1h, k1, u1, m1, z1)
			tileAdd(z0, s.u1h[:n1len], f1.levels[0])
		}
	}
	if back {
		s.plans[0].Inverse(s.t1, z0)
		s.foldPadded(grad, s.t1, 1/float64(P))
	}
	return f
}

// modulusAdjoint turns z, the spectrum of the gradient with respect to the modulus m = |u| (n
// bins at level l, scaled by n: dU = Re IDFT(z)/n), into dst = DFT(dU·u/|u|), the spectrum of
// the gradient with respect to u (0 where u = 0). z is left as it was; s.t3 is scratch.
func (s *Scattering) modulusAdjoint(dst []complex128, l int, u []complex128, m []float64, z []complex128) {
	n := len(u)
	g := s.t3[:n]
	s.plans[l].Inverse(g, z)
	inv := 1 / float64(n)
	for i, v := range u {
		if m[i] > 0 {
			g[i] = complex(inv*real(g[i])/m[i], 0) * v
		} else {
			g[i] = 0
		}
	}
	s.plans[l].Forward(dst, g)
}
