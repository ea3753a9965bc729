package retrieval

import (
	"fmt"
	"math"
	"math/cmplx"
)

// MelStart selects the linear magnitude estimate that a mel inversion gives its phase to:
// offline MelProblem.InitialSignal (and so InvertMel without an initial signal), and each frame's
// warm start in the streaming engine (stream.Config.MelStart, MelPenalty.HarmonicMagnitude or
// LinearMagnitude). The zero value is MelStartAuto.
type MelStart int

const (
	// MelStartAuto is MelStartHarmonic where the STFT's bins are at most MelHarmonicMaxBinHz
	// apart (HiFi-GAN's 22.05 kHz with n_fft 1024: 21.5 Hz; librosa's 2048: 10.8 Hz), and
	// MelStartLeastSquares where they are coarser (n_fft 512 at 22.05 kHz: 43 Hz; at 48 kHz:
	// 94 Hz; torchaudio's 400 at 16 kHz: 40 Hz). The comb needs resolved harmonics: on espeak-ng
	// speech through `rephase stream --n-mels 80` at n_fft 512 the harmonic start gained nothing
	// at 22.05 kHz (−15.6 against −15.5 dB linear SC), lost 0.3–0.6 dB at 48 kHz, and cost about
	// twice the least-squares start per hop, while at n_fft 1024, 22.05 kHz it gains 3–4 dB
	// (benchmarks/REPORT.md, "Mel spectrogram inversion"). Resolve turns it into one of the two.
	MelStartAuto MelStart = iota
	// MelStartHarmonic is the source-filter estimate of MelProblem.HarmonicEstimate: a comb at
	// the multiples of one to three f0s estimated per frame, weighted by how little the mel fit
	// has to bend it (the roughness ratio), fitted to the mel frame by multiplicative (EM)
	// updates. Known weakness: a steady f0 near the search's bottom (about 71 Hz at 21.5 Hz
	// bins, harmonics 3.3 bins apart) can lock onto an f0 about 10 % too high and start behind
	// least squares.
	MelStartHarmonic
	// MelStartLeastSquares is the clipped least-squares estimate max(0, Φ⁺·g⁻¹(M))^{1/p}
	// (MelProblem.LinearEstimate; torchaudio ≥ 2.1's InverseMelScale).
	MelStartLeastSquares
)

// MelHarmonicMaxBinHz is the coarsest bin spacing (sample rate ÷ n_fft, Hz) at which
// MelStartAuto picks the harmonic start.
const MelHarmonicMaxBinHz = 25.0

// Resolve returns s, with MelStartAuto replaced by MelStartHarmonic or MelStartLeastSquares for
// an STFT of n_fft nfft at sampleRate Hz (see MelStartAuto).
func (s MelStart) Resolve(sampleRate float64, nfft int) MelStart {
	if s != MelStartAuto {
		return s
	}
	if nfft > 0 && sampleRate/float64(nfft) <= MelHarmonicMaxBinHz {
		return MelStartHarmonic
	}
	return MelStartLeastSquares
}

var melStartNames = [...]string{"auto", "harmonic", "ls"}

func (s MelStart) String() string { return enumString(melStartNames[:], int(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s MelStart) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(melStartNames) {
		return nil, fmt.Errorf("retrieval: unknown mel start %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler ("auto", "harmonic" or "ls", any case).
func (s *MelStart) UnmarshalText(b []byte) error {
	i, err := enumParse(melStartNames[:], string(b), "mel start")
	*s = MelStart(i)
	return err
}

// Parameters of HarmonicEstimate, chosen on 1.4 s of espeak-ng speech (three voices) and of the
// benchmarks' synthetic music with drums (HiFi-GAN filterbank; benchmarks/REPORT.md, "Mel
// spectrogram inversion").
const (
	harmF0Min, harmF0Max = 70.0, 400.0 // f0 search range, Hz
	harmF0Grid           = 48          // coarse f0 grid, points per octave
	harmF0Refine         = 20          // refinement steps (step ÷ 1.6 each)
	harmMagMaxHz         = 2000.0      // f0 from the EM magnitude's bins below this
	harmMelMaxHz         = 1200.0      // harmonicity from the bands whose upper edge is below this
	harmMinBands         = 8           // fewer such bands: no comb (the estimate is the flat EM fit)
	harmDetrend          = 3           // harmonicity: log bands minus their mean over ±3 bands
	harmMelFloor         = 0.05        // comb floor in the harmonicity model
	harmRhoGate          = 0.5         // frames with a smaller harmonicity keep the flat fit
	harmFloor            = 0.2         // comb floor in the prior
	harmEMIters          = 50          // multiplicative updates per fit
	harmFitIters         = 10          // multiplicative updates per trial fit (f0 refinement)
	harmRoughMaxHz       = 4000.0      // roughness over the bins below this
	harmF0Step0          = 0.005       // refinement: relative f0 steps of the first sweep
	harmF0Sweep          = 3           // ... over ±3 steps, then 3 halvings around the best
	harmQ0, harmQ1       = 0.3, 0.5    // comb weight α = clamp((q1 − q)/(q1 − q0), 0, 1)
	harmMultiQ           = 0.3         // a frame with q above this tries more f0s
	harmMultiMax         = 3           // at most this many f0s per frame
	harmMultiCands       = 6           // candidates: the sieve's highest local maxima ...
	harmMultiMaxHz       = 800.0       // ... over harmF0Min to this
	harmMultiGain        = 0.9         // an f0 is added if it multiplies the roughness by at most this
	harmMultiSep         = 0.03        // candidates within 3 % of a chosen f0 are skipped
)

// HarmonicEstimate returns a linear magnitude estimate |X| (S.Frames() × S.Bins()) whose mel
// spectrogram matches the target and whose voiced frames carry harmonic fine structure that the
// least-squares estimate smears across each band: the source-filter view of voiced sound, a
// comb of window main lobes at the multiples of f0 under a smooth envelope. Per frame, with the
// uncompressed target y = g⁻¹(M) and S = |X|^p:
//
//  1. S₀ = the non-negative fit of Φ·S = y from a flat start by the multiplicative updates
//     S ← S ⊙ Φᵀ(y ⊘ Φ·S) ⊘ Φᵀ1 (the ML-EM / Richardson–Lucy iteration: W. H. Richardson 1972,
//     "Bayesian-based iterative method of image restoration", JOSA 62(1); L. B. Lucy 1974, "An
//     iterative technique for the rectification of observed distributions", AJ 79(6); the
//     KL-NMF update of D. D. Lee and H. S. Seung 2001, "Algorithms for non-negative matrix
//     factorization", NIPS 13, with Φ fixed). 50 updates; bins no filter covers get 0.
//  2. A coarse f0 = the argmax over 70–400 Hz of the correlation between S₀^{1/(2p)} below 2 kHz
//     and the comb C_f0[k] = Σ_h |W(k − h·f0/Δf)|/|W(0)| (W the analysis window's DFT, main lobe
//     only; Δf = sample rate / n_fft): a normalised harmonic sieve in the manner of subharmonic
//     summation (D. J. Hermes 1988, "Measurement of pitch by subharmonic summation", JASA
//     83(1)), searched on a 1/48-octave grid and refined.
//  3. ρ = the largest correlation over f0 between the log mel bands below 1.2 kHz and the log
//     mel of the comb 0.05 + C_f0, both minus their moving mean over ±3 bands. Frames with
//     ρ < 0.5 (silence, most fricatives) keep S₀.
//  4. f0 refinement by analysis by synthesis: for a prior P = (0.2 + C_f0)^p, fit S from P by
//     10 multiplicative updates and measure the roughness R(P) = Σ_k A_k (Δ_k ln(S_k/P_k))² /
//     Σ_k A_k, A = S^{1/p}, over the bins below 4 kHz: how much the fit had to bend the prior,
//     band by band, to match the mel. A wrong f0 puts comb peaks where the bands hold little
//     energy and the fit's correction then swings from band to band; with the right one it is
//     a smooth envelope (the fit keeps the prior's shape inside each band). f0 is moved to the
//     smallest R over the coarse f0·(1 + 0.5 %·j), |j| ≤ 3, then by ±0.25, ±0.125, ±0.0625 %
//     around the best. q = R(P)/R(1) compares with the flat prior: 0.1–0.3 on voiced speech,
//     0.4–1 on polyphonic music, above 1 where the comb does not belong.
//  5. Several sources (q > 0.3): estimate-and-test in the manner of A. P. Klapuri 2003,
//     "Multiple fundamental frequency estimation based on harmonicity and spectral
//     smoothness", IEEE TSAP 11(6): among the six highest local maxima of the step-2 sieve over
//     70–800 Hz (refined), the f0 whose comb, added to the prior, lowers R most is kept (and
//     refined as in step 4) if it multiplies R by at most 0.9; at most three f0s per frame.
//     q is then that of the combined prior.
//  6. S = the fit of step 1 started from the prior (1 − α) + α·(0.2 + Σ C_f0)^p instead of flat,
//     α = clamp((0.5 − q)/0.2, 0, 1): the updates keep the prior's shape inside each band
//     while matching the band sums.
//
// It returns S^{1/p}, with values above MaxMagnitude lowered to it. Empty bands (more bands than the lowest bins resolve, as with torchaudio's
// defaults) are skipped; without at least 8 non-empty bands below 1.2 kHz there is no comb and
// the result is the flat fit of step 1. Measured (HiFi-GAN, 100 L-BFGS iterations from PGHI on
// this estimate; benchmarks/REPORT.md): linear SC −16.6 dB on espeak-ng speech against −14.8 dB
// with the sieve's f0 and a comb weight from ρ alone (steps 2, 3 and 6 only) and −12.4 dB from
// the least-squares estimate; on the synthetic music with drums −15.2 against −15.5 and −14.9 dB
// (the medians over five slightly perturbed starts are −15.2 to −15.4 against −15.4: within
// L-BFGS's spread). Steps 4 and 5 gain 1.2–2.6 dB on three espeak-ng voices, 0.9–1.2 dB on a
// longer music clip, and −0.2 to +0.5 dB on read speech (LibriSpeech). Cost: per frame, 100
// multiplicative updates (two passes over Φ's nonzeros each) and about 300 comb evaluations over
// the bins below 2 kHz; per frame with ρ ≥ 0.5, about 15 trial fits of 10 updates over the bands
// below 4 kHz (up to 24 more with several f0s); on one thread, about 0.1 s for 121 HiFi-GAN
// frames (the frames are independent, so it could be split). It allocates
// O(S.Frames()·S.Bins()).
func (p *MelProblem) HarmonicEstimate() []float64 {
	s, m := p.S, p.Mel
	b, nm := s.bins, m.nMels
	h := newHarmonicFit(m, s.Window(), s.cfg.NFFT)
	out := make([]float64, s.frames*b)
	for t := 0; t < s.frames; t++ {
		h.frame(out[t*b:(t+1)*b], p.lin[t*nm:(t+1)*nm], p.l.p)
	}
	return out
}

// harmonicFit holds the plan and scratch of HarmonicEstimate.
type harmonicFit struct {
	m           *Mel
	df          float64   // Hz per bin
	lobe        []float64 // |W(δ)|/|W(0)| at δ = i/lobeRes bins, main lobe
	col         []float64 // Φᵀ1
	kMag        int       // bins used by the f0 search
	kRough      int       // bins used by the roughness
	nbR, kEndR  int       // trial fits: the bands starting below kRough and the bins they cover
	colR        []float64 // kEndR: Φᵀ1 over those bands
	nLow        int       // bands used by the harmonicity
	lowBands    []int     // their indices: the non-empty bands up to harmMelMaxHz
	kLow        int       // bins those bands cover
	c, num, a   []float64 // bins
	prior, fit  []float64 // bins: a trial prior and its fit
	ps, q       []float64 // nMels
	dm, dq, low []float64 // nLow
	ylow        []float64 // nLow: the frame's values in lowBands
	cum         []float64 // nLow+1
	sieve       []float64 // the sieve score on the 1/48-octave grid up to harmMultiMaxHz
	peaks       []int     // its local maxima
	cands       []float64 // harmMultiCands candidate f0s
	maxF0       int       // harmMultiMax (tests lower it)

	// The last frame's result, for tests: its f0s (nF0 of them), harmonicity, roughness ratio
	// and comb weight.
	f0s     [harmMultiMax]float64
	nF0     int
	coarse  float64 // step 2's f0
	rho, qr float64
	alpha   float64
}

const lobeRes = 64

func newHarmonicFit(m *Mel, win []float64, nfft int) *harmonicFit {
	b := m.bins
	h := &harmonicFit{m: m, df: m.cfg.SampleRate / float64(nfft), col: make([]float64, b),
		c: make([]float64, b), num: make([]float64, b), a: make([]float64, b),
		prior: make([]float64, b), fit: make([]float64, b),
		ps: make([]float64, m.nMels), q: make([]float64, m.nMels),
		sieve: make([]float64, 0, int(harmF0Grid*math.Log2(harmMultiMaxHz/harmF0Min))+2),
		peaks: make([]int, 0, int(harmF0Grid*math.Log2(harmMultiMaxHz/harmF0Min))+2),
		cands: make([]float64, 0, harmMultiCands), maxF0: harmMultiMax}
	for i := 0; i < m.nMels; i++ {
		for k := m.lo[i]; k < m.hi[i]; k++ {
			h.col[k] += m.w[i*b+k]
		}
	}
	// Main lobe of the window's transform, up to its first minimum (2 bins for Hann; at most 8).
	w0 := 0.0
	for _, v := range win {
		w0 += v
	}
	for i := 0; i <= 8*lobeRes; i++ {
		var acc complex128
		d := float64(i) / lobeRes
		for n, v := range win {
			acc += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*d*float64(n)/float64(nfft)))
		}
		a := cmplx.Abs(acc) / w0
		if i > 0 && a > h.lobe[i-1] {
			break
		}
		h.lobe = append(h.lobe, a)
	}
	h.kMag = min(b, int(math.Ceil(harmMagMaxHz/h.df)))
	h.kRough = min(b, int(math.Ceil(harmRoughMaxHz/h.df)))
	for h.nbR < m.nMels && m.lo[h.nbR] < h.kRough {
		h.kEndR = max(h.kEndR, m.hi[h.nbR])
		h.nbR++
	}
	h.colR = make([]float64, h.kEndR)
	for i := range h.nbR {
		for k := m.lo[i]; k < m.hi[i]; k++ {
			h.colR[k] += m.w[i*b+k]
		}
	}
	f := m.cfg.SampleRate / float64(nfft)
	// The bands below harmMelMaxHz, skipping empty ones: a filterbank with more bands than the
	// lowest bins resolve (torchaudio's defaults: 128 HTK bands over 201 bins) has empty bands
	// at the bottom, and stopping at the first would leave none.
	for i := 0; i < m.nMels; i++ {
		if m.hi[i] == 0 {
			continue
		}
		if float64(m.hi[i]-1)*f > harmMelMaxHz {
			break
		}
		h.lowBands = append(h.lowBands, i)
		h.kLow = max(h.kLow, m.hi[i])
	}
	h.nLow = len(h.lowBands)
	h.dm, h.dq, h.low = make([]float64, h.nLow), make([]float64, h.nLow), make([]float64, h.nLow)
	h.ylow = make([]float64, h.nLow)
	h.cum = make([]float64, h.nLow+1)
	return h
}

// lobeAt returns the tabulated main lobe at |δ| bins (0 outside).
func (h *harmonicFit) lobeAt(d float64) float64 {
	x := math.Abs(d) * lobeRes
	i := int(x)
	if i+1 >= len(h.lobe) {
		return 0
	}
	fr := x - float64(i)
	return h.lobe[i]*(1-fr) + h.lobe[i+1]*fr
}

// comb writes C_f0 over bins [0, kmax) into h.c (zero elsewhere).
func (h *harmonicFit) comb(f0 float64, kmax int) {
	clear(h.c)
	h.combAdd(h.c, f0, kmax)
}

// combAdd adds C_f0 over bins [0, kmax) to dst.
func (h *harmonicFit) combAdd(dst []float64, f0 float64, kmax int) {
	span := float64(len(h.lobe)) / lobeRes
	for n := 1; ; n++ {
		kc := float64(n) * f0 / h.df
		if kc-span >= float64(kmax) {
			return
		}
		for k := max(0, int(math.Ceil(kc-span))); float64(k) <= kc+span && k < kmax; k++ {
			dst[k] += h.lobeAt(float64(k) - kc)
		}
	}
}

// search returns the f0 in [harmF0Min, harmF0Max] maximising score, and the maximum.
func search(grid float64, score func(float64) float64) (float64, float64) {
	ratio := math.Pow(2, 1/grid)
	best, bs := harmF0Min, math.Inf(-1)
	for f := harmF0Min; f <= harmF0Max; f *= ratio {
		if v := score(f); v > bs {
			best, bs = f, v
		}
	}
	step := best * (ratio - 1)
	for range harmF0Refine {
		step /= 1.6
		for _, f := range [2]float64{best - step, best + step} {
			if v := score(f); v > bs {
				best, bs = f, v
			}
		}
	}
	return best, bs
}

// frame writes |X| for the uncompressed mel frame y with power pw into dst.
func (h *harmonicFit) frame(dst, y []float64, pw float64) {
	clear(dst)
	for k := range dst {
		if h.col[k] > 0 {
			dst[k] = 1
		}
	}
	h.em(dst, y, harmEMIters)
	h.nF0, h.coarse, h.rho, h.qr, h.alpha = 0, 0, 0, 0, 0
	if h.nLow >= harmMinBands && h.kMag > 0 {
		for k := range h.kMag {
			h.a[k] = math.Pow(dst[k], 0.5/pw)
		}
		f0, _ := search(harmF0Grid, h.sieveScore)
		h.coarse = f0
		for j, i := range h.lowBands {
			h.ylow[j] = y[i]
		}
		detrendLog(h.dm, h.ylow, h.cum)
		_, h.rho = search(harmF0Grid, h.melScore)
		if h.rho >= harmRhoGate {
			h.voicing(f0, y, pw)
		}
	}
	if alpha := h.alpha; alpha > 0 {
		h.combPrior(h.f0s[:h.nF0], pw, len(dst))
		for k := range dst {
			dst[k] = 0
			if h.col[k] > 0 {
				dst[k] = (1 - alpha) + alpha*h.prior[k]
			}
		}
		h.em(dst, y, harmEMIters)
	}
	if pw == 2 {
		for k, v := range dst {
			dst[k] = math.Sqrt(v)
		}
	}
	clipMagnitudes(dst)
}

// sieveScore is step 2's harmonic sieve: the correlation of h.a (the flat fit's S₀^{1/(2p)})
// with C_f0 below harmMagMaxHz.
func (h *harmonicFit) sieveScore(f float64) float64 {
	h.comb(f, h.kMag)
	return pearson(h.a[:h.kMag], h.c[:h.kMag])
}

// melScore is step 3's harmonicity of f (h.dm holds the frame's detrended low bands).
func (h *harmonicFit) melScore(f float64) float64 {
	h.comb(f, h.kLow)
	for j, i := range h.lowBands {
		var acc float64
		row := h.m.w[i*h.m.bins:]
		for k := h.m.lo[i]; k < h.m.hi[i]; k++ {
			acc += row[k] * (harmMelFloor + h.c[k])
		}
		h.low[j] = acc
	}
	detrendLog(h.dq, h.low, h.cum)
	return pearson(h.dm, h.dq)
}

// voicing runs steps 4 and 5 from the coarse f0 and sets h.f0s, h.nF0, h.qr and h.alpha.
func (h *harmonicFit) voicing(f0 float64, y []float64, pw float64) {
	h.nF0 = 1
	best, bc := f0, math.Inf(1)
	for j := -harmF0Sweep; j <= harmF0Sweep; j++ {
		f := f0 * (1 + harmF0Step0*float64(j))
		h.f0s[0] = f
		if v := h.roughness(h.f0s[:1], y, pw); v < bc {
			best, bc = f, v
		}
	}
	bc = h.refine(0, best, bc, y, pw)
	flat := h.roughness(nil, y, pw)
	if flat > 0 && bc/flat > harmMultiQ {
		h.candidates()
		for h.nF0 < h.maxF0 {
			add, ac := 0.0, bc
			for _, f := range h.cands {
				if h.near(f) {
					continue
				}
				h.f0s[h.nF0] = f
				if v := h.roughness(h.f0s[:h.nF0+1], y, pw); v < ac {
					add, ac = f, v
				}
			}
			if add == 0 || ac > harmMultiGain*bc {
				break
			}
			h.nF0++
			bc = h.refine(h.nF0-1, add, ac, y, pw)
		}
	}
	if flat > 0 {
		h.qr = bc / flat
		h.alpha = math.Max(0, math.Min(1, (harmQ1-h.qr)/(harmQ1-harmQ0)))
	}
}

// refine moves h.f0s[i] (starting at f, roughness r with h.f0s[:i] fixed) by relative steps of
// ±harmF0Step0/2, /4, /8 to the smallest roughness of h.f0s[:i+1], leaves it there and returns
// that roughness.
func (h *harmonicFit) refine(i int, f, r float64, y []float64, pw float64) float64 {
	for st := harmF0Step0 / 2; st > harmF0Step0/16; st /= 2 {
		b0 := f
		for _, g := range [2]float64{b0 * (1 - st), b0 * (1 + st)} {
			h.f0s[i] = g
			if v := h.roughness(h.f0s[:i+1], y, pw); v < r {
				f, r = g, v
			}
		}
	}
	h.f0s[i] = f
	return r
}

// near reports whether f is within harmMultiSep (relative) of one of the frame's f0s.
func (h *harmonicFit) near(f float64) bool {
	for _, g := range h.f0s[:h.nF0] {
		if math.Abs(math.Log(f/g)) < harmMultiSep {
			return true
		}
	}
	return false
}

// candidates writes into h.cands the harmMultiCands highest local maxima of the sieve over
// [harmF0Min, harmMultiMaxHz] on the 1/48-octave grid, each refined as in search.
func (h *harmonicFit) candidates() {
	ratio := math.Pow(2, 1/float64(harmF0Grid))
	h.sieve = h.sieve[:0]
	for f := harmF0Min; f <= harmMultiMaxHz && len(h.sieve) < cap(h.sieve); f *= ratio {
		h.sieve = append(h.sieve, h.sieveScore(f))
	}
	h.peaks = h.peaks[:0]
	for i := 1; i+1 < len(h.sieve); i++ {
		if v := h.sieve[i]; v > h.sieve[i-1] && v >= h.sieve[i+1] {
			h.peaks = append(h.peaks, i)
		}
	}
	h.cands = h.cands[:0]
	for len(h.cands) < harmMultiCands {
		bj, bi, bv := -1, 0, math.Inf(-1)
		for j, i := range h.peaks {
			if i >= 0 && h.sieve[i] > bv {
				bj, bi, bv = j, i, h.sieve[i]
			}
		}
		if bj < 0 {
			break
		}
		h.peaks[bj] = -1 // taken
		f := harmF0Min * math.Pow(ratio, float64(bi))
		step := f * (ratio - 1)
		for range harmF0Refine {
			step /= 1.6
			for _, g := range [2]float64{f - step, f + step} {
				if v := h.sieveScore(g); v > bv {
					f, bv = g, v
				}
			}
		}
		h.cands = append(h.cands, f)
	}
}

// combPrior writes the prior (harmFloor + Σ C_f0)^pw over the covered bins below kmax (0
// elsewhere) into h.prior[:kmax]; with no f0 it is flat.
func (h *harmonicFit) combPrior(f0s []float64, pw float64, kmax int) {
	p := h.prior[:kmax]
	clear(p)
	for _, f := range f0s {
		h.combAdd(p, f, kmax)
	}
	for k := range p {
		if h.col[k] > 0 {
			p[k] = math.Pow(harmFloor+p[k], pw)
		} else {
			p[k] = 0
		}
	}
}

// roughness returns R = Σ_k A_k (Δ_k ln(S_k/P_k))² / Σ_k A_k, A = S^{1/pw}, over the bins below
// harmRoughMaxHz, with P the prior of f0s and S its fit to y by harmFitIters updates (0 for an
// all-zero fit). The fit uses only the bands that start below harmRoughMaxHz (the others do not
// touch those bins) and their bins.
func (h *harmonicFit) roughness(f0s []float64, y []float64, pw float64) float64 {
	h.combPrior(f0s, pw, h.kEndR)
	copy(h.fit[:h.kEndR], h.prior[:h.kEndR])
	h.emLow(h.fit, y)
	var d, w float64
	prev := math.NaN()
	for k := range h.kRough {
		s := h.fit[k]
		if !(s > 0) {
			prev = math.NaN()
			continue
		}
		l := math.Log(s / h.prior[k])
		if !math.IsNaN(prev) {
			if pw == 2 {
				s = math.Sqrt(s)
			}
			d += s * (l - prev) * (l - prev)
			w += s
		}
		prev = l
	}
	if w == 0 {
		return 0
	}
	return d / w
}

// emLow runs harmFitIters multiplicative updates on s[:h.kEndR] against y[:h.nbR], the bands
// starting below harmRoughMaxHz.
func (h *harmonicFit) emLow(s, y []float64) {
	m, b := h.m, h.m.bins
	for range harmFitIters {
		for i := range h.nbR {
			row := m.w[i*b : (i+1)*b]
			var acc float64
			for k := m.lo[i]; k < m.hi[i]; k++ {
				acc += row[k] * s[k]
			}
			h.q[i] = 0
			if acc > 0 {
				h.q[i] = y[i] / acc
			}
		}
		num := h.num[:h.kEndR]
		clear(num)
		for i, qi := range h.q[:h.nbR] {
			row := m.w[i*b : (i+1)*b]
			for k := m.lo[i]; k < m.hi[i]; k++ {
				num[k] += row[k] * qi
			}
		}
		for k, c := range h.colR {
			if c > 0 {
				s[k] *= num[k] / c
			}
		}
	}
}

// em runs iters multiplicative updates S ← S ⊙ Φᵀ(y ⊘ Φ·S) ⊘ Φᵀ1 on s.
func (h *harmonicFit) em(s, y []float64, iters int) {
	m := h.m
	for range iters {
		m.apply(h.ps, s)
		for i, v := range h.ps {
			h.q[i] = 0
			if v > 0 {
				h.q[i] = y[i] / v
			}
		}
		m.applyT(h.num, h.q)
		for k, c := range h.col {
			if c > 0 {
				s[k] *= h.num[k] / c
			}
		}
	}
}

// pearson returns the correlation coefficient of a and b (0 if either is constant).
func pearson(a, b []float64) float64 {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma, mb = ma/n, mb/n
	var ab, aa, bb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// detrendLog writes ln v minus its mean over ±harmDetrend neighbours into dst (values floored at
// 1e-12 of the largest, or at the smallest positive float for an all-zero v), using cum
// (len(v)+1 values) for prefix sums.
func detrendLog(dst, v, cum []float64) {
	top := 0.0
	for _, x := range v {
		top = math.Max(top, x)
	}
	fl := math.Max(top*1e-12, math.SmallestNonzeroFloat64)
	n := len(v)
	cum[0] = 0
	for i, x := range v {
		dst[i] = math.Log(math.Max(x, fl))
		cum[i+1] = cum[i] + dst[i]
	}
	for i := range n {
		lo, hi := max(0, i-harmDetrend), min(n, i+harmDetrend+1)
		dst[i] -= (cum[hi] - cum[lo]) / float64(hi-lo)
	}
}
