package retrieval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// MelScale selects the Hz ↔ mel mapping of a filterbank.
type MelScale int

const (
	// MelSlaney is the Auditory Toolbox scale (librosa's default, htk=False; torchaudio's
	// mel_scale="slaney"): linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels
	// per factor 6.4).
	MelSlaney MelScale = iota
	// MelHTK is 2595·log10(1 + f/700) (librosa htk=True; torchaudio's default "htk").
	MelHTK
)

var melScaleNames = [...]string{"slaney", "htk"}

func (s MelScale) String() string { return enumString(melScaleNames[:], int(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s MelScale) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("slaney" or "htk", any case).
func (s *MelScale) UnmarshalText(b []byte) error {
	i, err := enumParse(melScaleNames[:], string(b), "mel scale")
	*s = MelScale(i)
	return err
}

// MelNorm selects the normalisation of each mel filter.
type MelNorm int

const (
	// MelNormSlaney scales filter i by 2/(f_{i+2} − f_i) (Hz) so that every triangle has the same
	// area: librosa's default norm="slaney", torchaudio's norm="slaney".
	MelNormSlaney MelNorm = iota
	// MelNormNone keeps peak-1 triangles (librosa norm=None, torchaudio's default norm=None).
	MelNormNone
)

var melNormNames = [...]string{"slaney", "none"}

func (n MelNorm) String() string { return enumString(melNormNames[:], int(n)) }

// MarshalText implements encoding.TextMarshaler.
func (n MelNorm) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("slaney" or "none", any case).
func (n *MelNorm) UnmarshalText(b []byte) error {
	i, err := enumParse(melNormNames[:], string(b), "mel norm")
	*n = MelNorm(i)
	return err
}

// MelConfig describes a mel filterbank. The zero values of Scale and Norm are librosa's defaults
// (Slaney scale, Slaney area normalisation); torchaudio's defaults are MelHTK and MelNormNone.
type MelConfig struct {
	// SampleRate is the sampling rate in Hz (> 0).
	SampleRate float64
	// NFFT is the FFT size in samples (even, ≥ 2); the filterbank has NFFT/2+1 columns, one per
	// one-sided bin k at k·SampleRate/NFFT Hz.
	NFFT int
	// NMels is the number of filters (rows), ≥ 1.
	NMels int
	// FMin is the lowest filter edge in Hz, ≥ 0.
	FMin float64
	// FMax is the highest filter edge in Hz, > FMin; 0 means SampleRate/2.
	FMax float64
	// Scale is the mel scale.
	Scale MelScale
	// Norm is the filter normalisation.
	Norm MelNorm
}

// Mel is a planned mel filterbank Φ: NMels() × Bins() weights, row-major, that map a one-sided
// spectrogram frame S (Bins() values, |X| or |X|², linear) to mel bands Φ·S, exactly as
// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) and
// torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm,
// mel_scale) do (the latter returns Φᵀ, bins × n_mels). The band edges are n_mels+2 points
// equally spaced in mel between FMin and FMax; filter i is the triangle over edges i, i+1, i+2,
// evaluated at the bin frequencies k·sr/n_fft. (torchaudio spaces the bins up to sr//2, an
// integer; for odd sample rates its filterbank differs from librosa's and from this one.)
//
// A Mel is immutable after NewMel and safe for concurrent use. Apply does not allocate when given
// dst; PseudoInverse allocates (see there).
type Mel struct {
	cfg         MelConfig
	nMels, bins int
	w           []float64 // nMels × bins
	lo, hi      []int     // nonzero columns of row i: [lo[i], hi[i])
}

// NewMel computes the filterbank of cfg. It returns an error for a non-positive sample rate, an
// odd or too small n_fft, n_mels < 1, or band limits outside 0 ≤ FMin < FMax.
func NewMel(cfg MelConfig) (*Mel, error) {
	if !(cfg.SampleRate > 0) || math.IsInf(cfg.SampleRate, 0) {
		return nil, fmt.Errorf("retrieval: mel sample rate %g Hz must be positive and finite", cfg.SampleRate)
	}
	if cfg.NFFT < 2 || cfg.NFFT%2 != 0 {
		return nil, fmt.Errorf("retrieval: mel n_fft %d must be even and ≥ 2", cfg.NFFT)
	}
	if cfg.NMels < 1 {
		return nil, fmt.Errorf("retrieval: n_mels %d must be ≥ 1", cfg.NMels)
	}
	if cfg.FMax == 0 {
		cfg.FMax = cfg.SampleRate / 2
	}
	if !(cfg.FMin >= 0 && cfg.FMax > cfg.FMin) || math.IsInf(cfg.FMax, 0) {
		return nil, fmt.Errorf("retrieval: mel band %g–%g Hz: want 0 ≤ f_min < f_max", cfg.FMin, cfg.FMax)
	}
	if cfg.Scale != MelSlaney && cfg.Scale != MelHTK {
		return nil, fmt.Errorf("retrieval: unknown mel scale %d", int(cfg.Scale))
	}
	if cfg.Norm != MelNormSlaney && cfg.Norm != MelNormNone {
		return nil, fmt.Errorf("retrieval: unknown mel norm %d", int(cfg.Norm))
	}
	nm, bins := cfg.NMels, cfg.NFFT/2+1
	m := &Mel{cfg: cfg, nMels: nm, bins: bins, w: make([]float64, nm*bins), lo: make([]int, nm), hi: make([]int, nm)}
	// Edges as librosa.mel_frequencies: linspace in mel, back to Hz.
	mlo, mhi := HzToMel(cfg.FMin, cfg.Scale), HzToMel(cfg.FMax, cfg.Scale)
	f := make([]float64, nm+2)
	for i := range f {
		f[i] = MelToHz(mlo+(mhi-mlo)*float64(i)/float64(nm+1), cfg.Scale)
	}
	for i := 0; i < nm; i++ {
		row := m.w[i*bins : (i+1)*bins]
		d0, d1 := f[i+1]-f[i], f[i+2]-f[i+1]
		enorm := 1.0
		if cfg.Norm == MelNormSlaney {
			enorm = 2 / (f[i+2] - f[i])
		}
		m.lo[i], m.hi[i] = bins, 0
		for k := range row {
			fk := float64(k) * cfg.SampleRate / float64(cfg.NFFT)
			lower := -(f[i] - fk) / d0
			upper := (f[i+2] - fk) / d1
			v := math.Max(0, math.Min(lower, upper)) * enorm
			row[k] = v
			if v != 0 {
				m.lo[i] = min(m.lo[i], k)
				m.hi[i] = k + 1
			}
		}
		if m.hi[i] == 0 {
			m.lo[i] = 0
		}
	}
	return m, nil
}

// HzToMel converts f Hz to mels on scale s (librosa.hz_to_mel).
func HzToMel(f float64, s MelScale) float64 {
	if s == MelHTK {
		return 2595 * math.Log10(1+f/700)
	}
	const fsp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 1000.0 / (200.0 / 3)
	if f >= minLogHz {
		return minLogMel + math.Log(f/minLogHz)/(math.Log(6.4)/27)
	}
	return f / fsp
}

// MelToHz converts m mels on scale s to Hz (librosa.mel_to_hz), the inverse of HzToMel.
func MelToHz(m float64, s MelScale) float64 {
	if s == MelHTK {
		return 700 * (math.Pow(10, m/2595) - 1)
	}
	const fsp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 1000.0 / (200.0 / 3)
	if m >= minLogMel {
		return minLogHz * math.Exp(math.Log(6.4)/27*(m-minLogMel))
	}
	return fsp * m
}

// Config returns the configuration with FMax resolved.
func (m *Mel) Config() MelConfig { return m.cfg }

// NMels returns the number of filters (rows of Φ).
func (m *Mel) NMels() int { return m.nMels }

// Bins returns the number of one-sided bins n_fft/2+1 (columns of Φ).
func (m *Mel) Bins() int { return m.bins }

// Weights returns Φ, NMels() × Bins(), row-major. Shared; do not modify.
func (m *Mel) Weights() []float64 { return m.w }

// Apply writes Φ·S for every frame of spec (frames × Bins(), row-major) into dst (frames ×
// NMels()) and returns it; nil dst allocates. It panics if len(spec) is not a multiple of Bins()
// or dst has the wrong length. dst and spec must not overlap.
func (m *Mel) Apply(dst, spec []float64) []float64 {
	if len(spec)%m.bins != 0 {
		panic(fmt.Sprintf("retrieval: Mel.Apply on %d values, not a multiple of %d bins", len(spec), m.bins))
	}
	frames := len(spec) / m.bins
	if dst == nil {
		dst = make([]float64, frames*m.nMels)
	}
	if len(dst) != frames*m.nMels {
		panic(fmt.Sprintf("retrieval: Mel.Apply dst has %d values, want %d", len(dst), frames*m.nMels))
	}
	for t := 0; t < frames; t++ {
		m.apply(dst[t*m.nMels:(t+1)*m.nMels], spec[t*m.bins:(t+1)*m.bins])
	}
	return dst
}

// apply sets y = Φ·s for one frame.
func (m *Mel) apply(y, s []float64) {
	for i := range y[:m.nMels] {
		row := m.w[i*m.bins : (i+1)*m.bins]
		var acc float64
		for k := m.lo[i]; k < m.hi[i]; k++ {
			acc += row[k] * s[k]
		}
		y[i] = acc
	}
}

// applyT sets v = Φᵀ·u for one frame.
func (m *Mel) applyT(v, u []float64) {
	clear(v[:m.bins])
	for i, ui := range u[:m.nMels] {
		row := m.w[i*m.bins : (i+1)*m.bins]
		for k := m.lo[i]; k < m.hi[i]; k++ {
			v[k] += row[k] * ui
		}
	}
}

// PseudoInverse writes max(0, Φ⁺·M) for every frame of mel (frames × NMels()) into dst (frames ×
// Bins()) and returns it; nil dst allocates. Φ⁺ is the Moore-Penrose pseudo-inverse (SVD,
// singular values below n·ε·σ_max dropped), so each frame gets the minimum-norm least-squares
// solution clipped at 0 — what torchaudio ≥ 2.1's InverseMelScale computes with
// torch.linalg.lstsq. It allocates O(NMels()·Bins()) and returns an error if the SVD fails.
func (m *Mel) PseudoInverse(dst, mel []float64) ([]float64, error) {
	if len(mel)%m.nMels != 0 {
		panic(fmt.Sprintf("retrieval: Mel.PseudoInverse on %d values, not a multiple of %d mels", len(mel), m.nMels))
	}
	frames := len(mel) / m.nMels
	if dst == nil {
		dst = make([]float64, frames*m.bins)
	}
	if len(dst) != frames*m.bins {
		panic(fmt.Sprintf("retrieval: Mel.PseudoInverse dst has %d values, want %d", len(dst), frames*m.bins))
	}
	inv, err := NewMelInverse(m)
	if err != nil {
		return nil, err
	}
	for t := 0; t < frames; t++ {
		inv.Frame(dst[t*m.bins:(t+1)*m.bins], mel[t*m.nMels:(t+1)*m.nMels])
	}
	return dst, nil
}

// MelInverse is a planned clipped least-squares inverse of a mel filterbank: Frame maps one mel
// frame M (NMels() values, linear, i.e. Φ·S) to max(0, Φ⁺·M) (Bins() values). It is the
// per-frame form of Mel.PseudoInverse, for streams. Immutable after NewMelInverse and safe for
// concurrent use; Frame does not allocate.
type MelInverse struct {
	nMels, bins int
	p           []float64 // Φ⁺, bins × nMels
}

// NewMelInverse computes Φ⁺ for m by SVD (O(NMels()²·Bins()) time, O(NMels()·Bins()) memory).
// It returns an error if the SVD fails.
func NewMelInverse(m *Mel) (*MelInverse, error) {
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(m.nMels, m.bins, m.w), mat.SVDThin) {
		return nil, fmt.Errorf("retrieval: mel filterbank SVD did not converge")
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	sv := svd.Values(nil)
	cut := float64(max(m.nMels, m.bins)) * 2.220446049250313e-16 * sv[0]
	r := len(sv)
	// pinv = V·Σ⁺·Uᵀ (bins × nMels)
	vs := mat.NewDense(m.bins, r, nil)
	for j := 0; j < r; j++ {
		s := 0.0
		if sv[j] > cut {
			s = 1 / sv[j]
		}
		for k := 0; k < m.bins; k++ {
			vs.Set(k, j, v.At(k, j)*s)
		}
	}
	pinv := mat.NewDense(m.bins, m.nMels, nil)
	pinv.Mul(vs, u.T())
	return &MelInverse{nMels: m.nMels, bins: m.bins, p: pinv.RawMatrix().Data}, nil
}

// Frame writes max(0, Φ⁺·mel) into dst (Bins() values) for one mel frame (NMels() values). It
// panics on other lengths.
func (inv *MelInverse) Frame(dst, mel []float64) {
	if len(dst) != inv.bins || len(mel) != inv.nMels {
		panic(fmt.Sprintf("retrieval: MelInverse.Frame into %d bins from %d mels, want %d and %d", len(dst), len(mel), inv.bins, inv.nMels))
	}
	for k := range dst {
		row := inv.p[k*inv.nMels : (k+1)*inv.nMels]
		var acc float64
		for i, yi := range mel {
			acc += row[i] * yi
		}
		dst[k] = math.Max(0, acc)
	}
}
