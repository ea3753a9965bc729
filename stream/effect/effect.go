// Package effect changes STFT magnitude frames between analysis and phase reconstruction: the
// "change magnitudes" step of an analyse → modify → resynthesise vocoder. Every effect works on
// one frame of linear magnitudes (bins = n_fft/2+1 values, bin k at k·fs/n_fft Hz) in place,
// without allocating, so it can run in the real-time worker; the phase is reconstructed afterwards
// by the streaming engine, so no effect has to keep phases consistent.
//
// Effects: PitchShift (semitones), Gate (spectral gate over a tracked noise floor), BandGain (dB
// over a frequency band) and TimeStretch (frame interpolation; changes the frame rate, so file
// mode only). Every one has the shape of a pipeline stage (stream.Effects): Push takes a frame
// and returns the frames to resynthesise. Parse builds them from command-line specs and Chain
// runs them in order; a Chain or a single effect is what stream.Pipeline.SetEffects takes.
package effect

import (
	"fmt"
	"math"
)

// Effect is one stage between analysis and resynthesis, with the shape of stream.Effects: Push
// takes an analysed frame (Bins() linear magnitudes) and returns the frames to resynthesise, as
// views valid until the next Push. PitchShift, Gate and BandGain keep the frame rate
// (Stretch() == 1): they modify the frame in place and return it alone; a TimeStretch returns 0
// to ⌈factor⌉ frames of its own (one per frame for factor 1). Push does not allocate. Effects keep state across
// frames (Gate, TimeStretch) and are not safe for concurrent use; Reset starts a new signal.
type Effect interface {
	Push(mag []float64) [][]float64
	Stretch() float64
	Reset()
	String() string
}

// inPlace gives an effect that modifies frames in place the rest of the Effect shape: a frame
// rate of 1 and the one-frame result of Push.
type inPlace struct{ one [][]float64 }

// Stretch returns 1: the effect keeps the frame rate.
func (inPlace) Stretch() float64 { return 1 }

// frame returns mag as the one frame of Push's result, without allocating after the first call.
func (e *inPlace) frame(mag []float64) [][]float64 {
	if e.one == nil {
		e.one = make([][]float64, 1)
	}
	e.one[0] = mag
	return e.one
}

func checkBins(mag []float64, bins int, who string) {
	if len(mag) != bins {
		panic(fmt.Sprintf("effect: %s on a frame of %d bins, built for %d", who, len(mag), bins))
	}
}

// PitchShift moves every frequency by a ratio r = 2^(semitones/12) by remapping bins with
// linear interpolation, peak by peak (Laroche & Dolson, "New phase-vocoder techniques for
// pitch-shifting, harmonizing and other exotic effects", WASPAA 1999): the spectrum is split into
// regions of influence around its peaks (boundaries at the lowest bin between neighbouring peaks),
// and each region is moved by its peak's shift k_p·(r − 1) bins, fractional shifts interpolated
// linearly, overlaps resolved by the larger magnitude and gaps left at 0. Unlike stretching the
// whole frequency axis, this keeps each peak's shape — the window's main lobe — so a shifted
// sinusoid stays a consistent STFT of a sinusoid, which the phase reconstruction then recovers
// cleanly. Frequencies moved past Nyquist are dropped. The duration is unchanged.
type PitchShift struct {
	inPlace
	semitones, ratio float64
	src              []float64
}

// NewPitchShift returns a pitch shift by semitones (within ±48) for frames of bins magnitudes.
func NewPitchShift(semitones float64, bins int) (*PitchShift, error) {
	if math.IsNaN(semitones) || math.Abs(semitones) > 48 {
		return nil, fmt.Errorf("effect: pitch shift of %v semitones, want within ±48", semitones)
	}
	return &PitchShift{semitones: semitones, ratio: math.Exp2(semitones / 12), src: make([]float64, bins)}, nil
}

// Push applies the effect to mag in place and returns it as the one frame to resynthesise.
func (p *PitchShift) Push(mag []float64) [][]float64 {
	p.Apply(mag)
	return p.frame(mag)
}

// Apply shifts one frame.
func (p *PitchShift) Apply(mag []float64) {
	checkBins(mag, len(p.src), "PitchShift")
	copy(p.src, mag)
	clear(mag)
	src, n := p.src, len(p.src)
	lo := 0 // start of the current region
	for lo < n {
		// The region's peak: climb from lo to the first local maximum.
		pk := lo
		for pk+1 < n && src[pk+1] >= src[pk] {
			pk++
		}
		// Its end: descend to the next local minimum.
		hi := pk + 1
		for hi < n && src[hi] <= src[hi-1] {
			hi++
		}
		if hi < n { // [lo, hi) ends at the valley bin hi−1 … hi starts rising: valley is hi−1
			hi--
			if hi <= pk {
				hi = pk + 1
			}
		}
		p.moveRegion(mag, lo, hi, peakBin(src, pk)*(p.ratio-1))
		lo = hi
	}
}

// peakBin returns the fractional position of the peak at bin k: the vertex of the parabola
// through the log magnitudes of bins k−1, k, k+1 (exact for a Gaussian main lobe, within a few
// hundredths of a bin for the usual windows).
func peakBin(m []float64, k int) float64 {
	if k == 0 || k == len(m)-1 || m[k-1] <= 0 || m[k] <= 0 || m[k+1] <= 0 {
		return float64(k)
	}
	a, b, c := math.Log(m[k-1]), math.Log(m[k]), math.Log(m[k+1])
	den := a - 2*b + c
	if den >= 0 {
		return float64(k)
	}
	return float64(k) + 0.5*(a-c)/den
}

// moveRegion writes src[lo:hi] shifted by s bins into dst (max where regions overlap).
func (p *PitchShift) moveRegion(dst []float64, lo, hi int, s float64) {
	src, n := p.src, len(p.src)
	first := max(0, int(math.Ceil(float64(lo)+s)))
	last := min(n-1, int(math.Floor(float64(hi-1)+s)))
	for j := first; j <= last; j++ {
		pos := float64(j) - s
		i := int(math.Floor(pos))
		f := pos - float64(i)
		v := src[i]
		if f > 0 && i+1 < n {
			v = (1-f)*src[i] + f*src[i+1]
		}
		dst[j] = max(dst[j], v)
	}
}

// Reset does nothing: PitchShift has no memory.
func (p *PitchShift) Reset() {}

func (p *PitchShift) String() string { return fmt.Sprintf("pitch %+g semitones", p.semitones) }

// Gate is a spectral gate (noise reduction). The noise floor is tracked by minimum statistics —
// per bin, the minimum of the smoothed magnitude (30 ms), allowed to rise by 3 dB per second so
// that it follows a slowly changing floor (after R. Martin, "Noise power spectral density
// estimation based on optimal smoothing and minimum statistics", IEEE TSAP 2001, simplified) —
// then taken as the median over ±16 bins so that steady tones do not count as noise. A bin whose
// magnitude is below the floor raised by the threshold (dB) is attenuated by the reduction (dB;
// −inf removes it). The minimum sits a few dB under the noise's mean magnitude, so thresholds of
// 15–25 dB remove stationary noise. Added latency: none; the floor needs about half a second of
// signal to settle.
type Gate struct {
	inPlace
	thresholdDB, reductionDB float64
	thr, red                 float64 // linear
	alpha, rise              float64 // smoothing per frame, floor rise factor per frame
	smooth, minimum, floor   []float64
	window                   []float64 // median scratch
	started                  bool
}

// gateHalfWidth is the half-width (bins) of the frequency median over the per-bin minima: a
// stationary tone is as "stationary" as noise to minimum statistics, so the floor at bin k is the
// median of the minima over k ± 16 bins, which a few tonal bins cannot move.
const gateHalfWidth = 16

// NewGate returns a gate for frames of bins magnitudes arriving every hopSeconds, with the
// threshold (dB over the noise floor, ≥ 0) and the reduction (dB, ≤ 0; math.Inf(-1) for silence).
func NewGate(thresholdDB, reductionDB float64, bins int, hopSeconds float64) (*Gate, error) {
	if !(thresholdDB >= 0) || math.IsInf(thresholdDB, 1) {
		return nil, fmt.Errorf("effect: gate threshold %v dB, want ≥ 0 dB over the noise floor", thresholdDB)
	}
	if !(reductionDB <= 0) {
		return nil, fmt.Errorf("effect: gate reduction %v dB, want ≤ 0", reductionDB)
	}
	if !(hopSeconds > 0) {
		return nil, fmt.Errorf("effect: gate hop %v s, want > 0", hopSeconds)
	}
	const smoothing = 0.03 // seconds: time constant of the magnitude smoothing
	return &Gate{thresholdDB: thresholdDB, reductionDB: reductionDB,
		thr: math.Pow(10, thresholdDB/20), red: math.Pow(10, reductionDB/20),
		alpha: math.Exp(-hopSeconds / smoothing), rise: math.Pow(10, 3*hopSeconds/20),
		smooth: make([]float64, bins), minimum: make([]float64, bins), floor: make([]float64, bins),
		window: make([]float64, 2*gateHalfWidth+1)}, nil
}

// Push applies the effect to mag in place and returns it as the one frame to resynthesise.
func (g *Gate) Push(mag []float64) [][]float64 {
	g.Apply(mag)
	return g.frame(mag)
}

// Apply gates one frame and updates the noise floor.
func (g *Gate) Apply(mag []float64) {
	checkBins(mag, len(g.floor), "Gate")
	if !g.started {
		copy(g.smooth, mag)
		copy(g.minimum, mag)
		g.started = true
	}
	for k, m := range mag {
		s := g.alpha*g.smooth[k] + (1-g.alpha)*m
		g.smooth[k] = s
		if f := g.minimum[k] * g.rise; s < f {
			g.minimum[k] = s
		} else {
			g.minimum[k] = f
		}
	}
	n := len(mag)
	for k := range mag {
		w := g.window[:0]
		for j := max(0, k-gateHalfWidth); j <= min(n-1, k+gateHalfWidth); j++ {
			w = append(w, g.minimum[j])
		}
		g.floor[k] = median(w)
	}
	for k, m := range mag {
		if m < g.thr*g.floor[k] {
			mag[k] = m * g.red
		}
	}
}

// median returns the median of w (reordering it), by insertion sort: w is at most 33 long.
func median(w []float64) float64 {
	for i := 1; i < len(w); i++ {
		for j := i; j > 0 && w[j] < w[j-1]; j-- {
			w[j], w[j-1] = w[j-1], w[j]
		}
	}
	return w[len(w)/2]
}

// Floor returns the current noise-floor estimate per bin (linear magnitude). Shared; do not
// modify.
func (g *Gate) Floor() []float64 { return g.floor }

// Reset forgets the noise floor.
func (g *Gate) Reset() { g.started = false }

func (g *Gate) String() string {
	return fmt.Sprintf("gate %g dB over the noise floor, reduction %g dB", g.thresholdDB, g.reductionDB)
}

// BandGain multiplies the bins whose centre frequency lies in [lo, hi] Hz by a gain in dB: an
// equaliser band with brick-wall edges.
type BandGain struct {
	inPlace
	lo, hi, db float64
	k0, k1     int // bins k0 ≤ k < k1
	gain       float64
	bins       int
}

// MaxBandGainDB bounds a band gain: +120 dB is a factor of 10⁶, more than any level correction
// needs, and keeps magnitudes finite (+7000 dB, which Parse once accepted, turned them into +Inf).
const MaxBandGainDB = 120

// NewBandGain returns a band gain for an STFT of n_fft nfft at sampleRate Hz.
func NewBandGain(lo, hi, db float64, nfft int, sampleRate float64) (*BandGain, error) {
	if !(lo >= 0 && hi > lo && hi <= sampleRate/2) {
		return nil, fmt.Errorf("effect: band [%v, %v] Hz, want 0 ≤ lo < hi ≤ fs/2 = %v Hz", lo, hi, sampleRate/2)
	}
	if math.IsNaN(db) || db > MaxBandGainDB {
		return nil, fmt.Errorf("effect: band gain %v dB, want at most %v dB (−Inf mutes the band)", db, float64(MaxBandGainDB))
	}
	bin := sampleRate / float64(nfft)
	return &BandGain{lo: lo, hi: hi, db: db, k0: int(math.Ceil(lo / bin)), k1: int(math.Floor(hi/bin)) + 1,
		gain: math.Pow(10, db/20), bins: nfft/2 + 1}, nil
}

// Push applies the effect to mag in place and returns it as the one frame to resynthesise.
func (b *BandGain) Push(mag []float64) [][]float64 {
	b.Apply(mag)
	return b.frame(mag)
}

// Apply scales the band of one frame.
func (b *BandGain) Apply(mag []float64) {
	checkBins(mag, b.bins, "BandGain")
	for k := b.k0; k < min(b.k1, len(mag)); k++ {
		mag[k] *= b.gain
	}
}

// Reset does nothing: BandGain has no memory.
func (b *BandGain) Reset() {}

func (b *BandGain) String() string { return fmt.Sprintf("gain %+g dB on %g–%g Hz", b.db, b.lo, b.hi) }

// TimeStretch changes the duration by a factor (2: twice as long) while keeping the pitch: it
// resamples the sequence of magnitude frames, output frame m being the linear interpolation of
// the input frames around position m/factor, and the engine resynthesises them at the original
// hop (the phase vocoder's time-scale modification without its phase bookkeeping: Griffin & Lim
// 1984 §V used exactly this with their iterative reconstruction). It changes the frame rate, so it
// cannot run against a real-time device clock; file mode only. Added latency: one frame.
type TimeStretch struct {
	factor    float64
	prev, cur []float64
	in        int // frames received
	out       int // frames emitted
	buf       [][]float64
}

// NewTimeStretch returns a stretch by factor in [1/8, 8] for frames of bins magnitudes.
func NewTimeStretch(factor float64, bins int) (*TimeStretch, error) {
	if !(factor >= 1.0/8 && factor <= 8) {
		return nil, fmt.Errorf("effect: time stretch factor %v, want 1/8 … 8", factor)
	}
	t := &TimeStretch{factor: factor, prev: make([]float64, bins), cur: make([]float64, bins)}
	for range int(math.Ceil(factor)) + 1 {
		t.buf = append(t.buf, make([]float64, bins))
	}
	return t, nil
}

// Push takes the next input frame and returns the output frames it completes (0 to ⌈factor⌉),
// as views valid until the next Push. It does not allocate.
func (t *TimeStretch) Push(mag []float64) [][]float64 {
	checkBins(mag, len(t.cur), "TimeStretch")
	t.prev, t.cur = t.cur, t.prev
	copy(t.cur, mag)
	j := float64(t.in)
	t.in++
	n := 0
	for {
		pos := float64(t.out) / t.factor
		if pos > j || n == len(t.buf) {
			break
		}
		f := pos - (j - 1) // weight of cur
		dst := t.buf[n]
		if t.in == 1 || f >= 1 {
			copy(dst, t.cur)
		} else {
			for k := range dst {
				dst[k] = (1-f)*t.prev[k] + f*t.cur[k]
			}
		}
		n++
		t.out++
	}
	return t.buf[:n]
}

// Factor returns the stretch factor.
func (t *TimeStretch) Factor() float64 { return t.factor }

// Stretch returns the stretch factor: about Stretch() frames come out per frame in.
func (t *TimeStretch) Stretch() float64 { return t.factor }

// Reset starts a new signal.
func (t *TimeStretch) Reset() { t.in, t.out = 0, 0 }

func (t *TimeStretch) String() string { return fmt.Sprintf("stretch ×%g", t.factor) }
