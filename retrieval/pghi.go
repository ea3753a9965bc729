package retrieval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// PGHITolerance is the relative magnitude at or below which real-time PGHI (RTPGHI) neither
// integrates nor crosses a bin but gives it random phase: bins under PGHITolerance·max(T) of the
// two frames it integrates over carry too little energy for their log-magnitude derivatives to
// mean anything.
const PGHITolerance = 1e-6

// Offline PGHI integrates in two passes (as libphaseret's pghi does): first over the bins above
// PGHIStrongTolerance·max(T) only, so that every strong ridge is integrated from its own peak and
// never through the valleys between ridges, then over the bins down to PGHIWeakTolerance·max(T),
// starting from the border of the first pass. Bins at or below PGHIWeakTolerance·max(T) get
// random phase.
const (
	PGHIStrongTolerance = 1e-1
	PGHIWeakTolerance   = 1e-10
)

// PGHI writes into phase (frames × bins, row-major, radians, frame-centre convention: see
// FrameCentre) the phase reconstructed from the magnitudes mag (frames × bins, linear) by
// phase-gradient heap integration (Z. Průša, P. Balazs, P. L. Søndergaard, "A noniterative method
// for reconstruction of phase from STFT magnitude", IEEE/ACM TASLP 25(5), 2017, Algorithm 1).
//
// With hop a, N = n_fft and γ the window's time-frequency ratio (samples², Window.TFR;
// 0.25645·L² for a Hann window of length L), the phase advances per hop by
// Δφ_time = (a·N/γ)·∂_k log T + 2π·a·k/N and per bin by Δφ_freq = −(γ/(a·N))·∂_m log T
// (differences in index units: centred, zero at DC and Nyquist along frequency, second-order
// one-sided at the first and last frames), integrated by the trapezoidal rule outwards from the
// largest coefficient in order of decreasing magnitude, in the two passes described at
// PGHIStrongTolerance. Each region the integration cannot reach from a stronger one starts at
// phase 0; the regions' constants are then settled (heapGrid.settle): regions that the second
// pass joined are related through the bins where they meet (the harmonics of a voice, which
// the first pass separates), and broadband ones are turned so that their DC and Nyquist
// coefficients are real, as a real signal's are (without it a click comes back as a mix of
// itself and its Hilbert transform, from which FGLA does not recover). Negligible bins get
// uniformly random phase from seed. The result is exact up to one constant per region for a
// Gaussian window and a signal whose log-magnitude is locally quadratic (tones, linear chirps,
// impulses). With no iteration, Hann: MATLAB's exponential chirp (fs 2048, n_fft 128, hop 32)
// −28.0 dB spectral convergence (libphaseret: −22.5 dB); espeak-ng speech at 16 kHz −19.4 dB
// with n_fft 512, hop 128 and −26.2 dB with n_fft 1024, hop 128.
//
// cfg must be resolved; mag must hold at least frames·Bins() values and phase as many. It allocates
// O(frames·bins) and is safe for concurrent use.
func PGHI(phase, mag []float64, frames int, cfg Config, seed uint64) {
	bins := cfg.Bins()
	size := frames * bins
	if len(mag) < size || len(phase) < size {
		panic(fmt.Sprintf("retrieval: PGHI of %d frames × %d bins given %d magnitudes and %d phases", frames, bins, len(mag), len(phase)))
	}
	if size == 0 {
		return
	}
	mag, phase = mag[:size], phase[:size]
	maxT := 0.0
	for _, v := range mag {
		maxT = max(maxT, v)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	if maxT == 0 {
		for i := range phase {
			phase[i] = 2 * math.Pi * rng.Float64()
		}
		return
	}
	g := newPhaseGrad(cfg)
	logs := make([]float64, size)
	floor := PGHIWeakTolerance * maxT
	lf := math.Log(floor)
	logMagnitude(logs, mag, floor)
	tgrad := make([]float64, size)
	fgrad := make([]float64, size)
	var rows [5][]float64
	// Frame 0 of Center framing with reflect padding is centred on the point the signal is
	// mirrored about: its magnitudes are even in time there, so their time derivative is zero.
	mirrored := cfg.Framing == Center && cfg.Pad == Reflect
	for m := 0; m < frames; m++ {
		for j := range rows {
			rows[j] = nil
			if r := m + j - 2; r >= 0 && r < frames && (j == 2 || m > 0 || !mirrored) {
				rows[j] = logs[r*bins : (r+1)*bins]
			}
		}
		g.timeDirection(tgrad[m*bins:(m+1)*bins], rows[2], lf)
		g.freqDirection(fgrad[m*bins:(m+1)*bins], &rows, lf)
	}
	h := newHeapGrid(frames, bins)
	h.run(mag, phase, tgrad, fgrad, PGHIStrongTolerance*maxT, PGHIWeakTolerance*maxT, 0, true)
	for i, s := range h.state {
		if s == cellNegligible {
			phase[i] = 2 * math.Pi * rng.Float64()
		}
	}
}

// RTPGHI is the state of real-time phase-gradient heap integration (Z. Průša, N. Holighaus,
// "Toward high-quality real-time signal reconstruction from STFT magnitude", IEEE SPL 24(6), 2017):
// the phase of one frame from the phase of the frame before it and the log-magnitude gradient,
// integrated in order of decreasing magnitude over the two frames with the phase-gradient
// estimates of PGHI (one pass: the previous frame's bins above the tolerance are the seeds). The
// time derivative of the log-magnitude is a centred difference when the next frame is known (the
// look-ahead variant, one frame of delay) and a second-order backward difference otherwise (the
// causal variant, no delay); a neighbour at or below the tolerance is not used as data. A region
// that starts in the current frame (an onset) keeps phase 0 at its start: one frame's DC bins are
// too little evidence for offline PGHI's alignment to the real axis (heapGrid.settle; turning
// by them cost 1.5 dB on speech at n_fft 1024, hop 128).
//
// Quality with no iteration (spectral convergence, Hann): MATLAB's exponential chirp (fs 2048,
// n_fft 128, hop 32) −24 dB look-ahead, −19 dB causal; espeak-ng speech at 16 kHz −19.5 / −18 dB
// with n_fft 512, hop 128 and −24 / −21 dB with n_fft 1024, hop 128 (through stream.Engine).
//
// Lifecycle: NewRTPGHI allocates everything; Frame never allocates; Reset starts a new stream.
// An RTPGHI is not safe for concurrent use.
type RTPGHI struct {
	g    phaseGrad
	tol  float64
	seed uint64
	rng  *rand.Rand
	grid *heapGrid

	key   []float64 // 2 × bins: magnitudes of the previous and the current frame
	phase []float64 // 2 × bins
	tgrad []float64 // 2 × bins
	fgrad []float64 // 2 × bins (the first row stays zero: the previous frame is known)
	logs  [4][]float64
	last  []float64 // the magnitudes of the previous call's prev frame (for the causal stencil)
	// lnCache holds the natural logs of the last few frames' magnitudes, unclamped, keyed by the
	// magnitudes themselves: successive calls see each frame in up to four roles (next, cur,
	// prev, last), and its log is computed once (math.Log was a quarter of a frame's time).
	lnCache [4]lnRow
	lnNext  int // the cache slot to fill next (round robin)

	havePrev bool // the previous call's phase continues into this call
	haveLast bool // last holds the frame before this call's prev
}

// NewRTPGHI plans real-time PGHI for the STFT cfg (resolved here), with relative tolerance tol
// (bins at or below tol·max of the two frames get random phase; PGHITolerance is the usual value)
// and seed for those random phases. It returns an error if cfg does not resolve or tol is not in
// [0, 1).
func NewRTPGHI(cfg Config, tol float64, seed uint64) (*RTPGHI, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if !(tol >= 0 && tol < 1) {
		return nil, fmt.Errorf("retrieval: RTPGHI tolerance %g must lie in [0, 1)", tol)
	}
	b := cfg.Bins()
	r := &RTPGHI{
		g: newPhaseGrad(cfg), tol: tol, seed: seed, grid: newHeapGrid(2, b),
		key: make([]float64, 2*b), phase: make([]float64, 2*b),
		tgrad: make([]float64, 2*b), fgrad: make([]float64, 2*b), last: make([]float64, b),
	}
	for i := range r.logs {
		r.logs[i] = make([]float64, b)
	}
	for i := range r.lnCache {
		r.lnCache[i] = lnRow{mag: make([]float64, b), ln: make([]float64, b)}
	}
	r.Reset()
	return r, nil
}

// lnRow is one frame's magnitudes and their natural logs.
type lnRow struct {
	mag, ln []float64
	valid   bool
}

// logMagnitude writes log(max(mag, floor)) into dst as the package's logMagnitude does, bit for
// bit (a bin above floor gets math.Log of itself, the others log(floor)), taking log(mag) from
// the cache when a frame of exactly these magnitudes was seen in the last four lookups. A
// cached row computes a bin's log the first time a call needs it (NaN marks the others; the log
// of a positive magnitude is never NaN).
func (r *RTPGHI) logMagnitude(dst, mag []float64, floor float64) {
	var ln []float64
	for i := range r.lnCache {
		if c := &r.lnCache[i]; c.valid && slices.Equal(c.mag, mag) {
			ln = c.ln
			break
		}
	}
	if ln == nil {
		c := &r.lnCache[r.lnNext]
		r.lnNext = (r.lnNext + 1) % len(r.lnCache)
		copy(c.mag, mag)
		for k := range c.ln {
			c.ln[k] = math.NaN()
		}
		c.valid = true
		ln = c.ln
	}
	lf := math.Log(floor)
	for k, v := range mag {
		if v > floor {
			l := ln[k]
			if l != l {
				l = math.Log(v)
				ln[k] = l
			}
			dst[k] = l
		} else {
			dst[k] = lf
		}
	}
}

// Reset forgets the previous frames and reseeds the random phases: the next Frame starts a new
// stream.
func (r *RTPGHI) Reset() {
	r.havePrev, r.haveLast = false, false
	r.rng = rand.New(rand.NewPCG(r.seed, 0x9e3779b97f4a7c15))
}

// Frame writes into phase (bins, radians, frame-centre convention) the phase of the frame with
// magnitudes cur (bins), given the magnitudes of the frame before it (prev; nil for the first
// frame of a stream) and of the frame after it (next; nil for the causal variant). Successive
// calls must pass successive frames (this call's prev is the previous call's cur): the phase of
// prev is the one the previous call returned, and the causal variant also uses the frame before
// prev from the previous call. In the look-ahead variant the output for frame j is available when
// frame j+1 arrives. Frame does not allocate. It panics if a slice has the wrong length.
func (r *RTPGHI) Frame(phase, prev, cur, next []float64) {
	b := r.g.bins
	if len(phase) != b || len(cur) != b || (prev != nil && len(prev) != b) || (next != nil && len(next) != b) {
		panic(fmt.Sprintf("retrieval: RTPGHI.Frame wants %d bins (phase %d, prev %d, cur %d, next %d)", b, len(phase), len(prev), len(cur), len(next)))
	}
	usePrev := prev != nil && r.havePrev
	haveLast := usePrev && r.haveLast
	maxT := 0.0
	for k, v := range cur {
		maxT = max(maxT, v)
		if usePrev {
			maxT = max(maxT, prev[k])
		}
	}
	thr := r.tol * maxT
	floor := math.Max(thr, math.SmallestNonzeroFloat64)
	lf := math.Log(floor)
	lLast, lPrev, lCur, lNext := r.logs[0], r.logs[1], r.logs[2], r.logs[3]
	r.logMagnitude(lCur, cur, floor)
	rows := [5][]float64{nil, nil, lCur, nil, nil}
	if prev != nil {
		r.logMagnitude(lPrev, prev, floor)
		rows[1] = lPrev
	}
	if haveLast {
		r.logMagnitude(lLast, r.last, floor)
		rows[0] = lLast
	}
	if next != nil {
		r.logMagnitude(lNext, next, floor)
		rows[3] = lNext
	}
	g := r.g
	g.timeDirection(r.tgrad[b:], lCur, lf)
	g.freqDirection(r.fgrad[b:], &rows, lf)
	if usePrev {
		copy(r.key, prev)
		g.timeDirection(r.tgrad[:b], lPrev, lf)
	} else {
		clear(r.key[:b])
	}
	copy(r.key[b:], cur)
	h := r.grid
	known := 0
	if usePrev {
		copy(r.phase, r.phase[b:]) // the previous frame's phase seeds the integration
		known = 1
	}
	h.run(r.key, r.phase, r.tgrad, r.fgrad, thr, thr, known, false)
	for k := b; k < 2*b; k++ {
		if h.state[k] == cellNegligible {
			r.phase[k] = 2 * math.Pi * r.rng.Float64()
		}
	}
	copy(phase, r.phase[b:])
	if prev != nil {
		copy(r.last, prev)
	}
	r.haveLast = prev != nil
	r.havePrev = true
}

// TimeDifferences selects real-time PGHI's time differences (RTPGHIPhase).
type TimeDifferences int

const (
	// CentredDifferences is the look-ahead variant: each frame's phase is known once the next
	// frame has arrived (one frame of delay). The zero value.
	CentredDifferences TimeDifferences = iota
	// BackwardDifferences is the causal variant: no delay.
	BackwardDifferences
)

var timeDifferencesNames = [...]string{"centred", "backward"}

// String returns "centred" or "backward", or "unknown(N)".
func (d TimeDifferences) String() string { return enumString(timeDifferencesNames[:], int(d)) }

// RTPGHIPhase writes into phase (frames × bins, radians, frame-centre convention) the phase that
// real-time PGHI gives the magnitudes mag (frames × bins), one frame after another, with the time
// differences diff (the look-ahead or the causal variant). It is a loop over RTPGHI.Frame, so it
// gives what a stream would. cfg is resolved here; tol is RTPGHI's tolerance (PGHITolerance is
// the usual value). It allocates O(bins), and returns an error for a diff outside the enum.
func RTPGHIPhase(phase, mag []float64, frames int, cfg Config, diff TimeDifferences, tol float64, seed uint64) error {
	if diff != CentredDifferences && diff != BackwardDifferences {
		return fmt.Errorf("retrieval: RTPGHIPhase with time differences %v", diff)
	}
	r, err := NewRTPGHI(cfg, tol, seed)
	if err != nil {
		return err
	}
	b := r.g.bins
	if len(mag) < frames*b || len(phase) < frames*b {
		return fmt.Errorf("retrieval: RTPGHIPhase of %d frames × %d bins given %d magnitudes and %d phases", frames, b, len(mag), len(phase))
	}
	row := func(m int) []float64 {
		if m < 0 || m >= frames {
			return nil
		}
		return mag[m*b : (m+1)*b]
	}
	for m := 0; m < frames; m++ {
		next := row(m + 1)
		if diff == BackwardDifferences {
			next = nil
		}
		r.Frame(phase[m*b:(m+1)*b], row(m-1), row(m), next)
	}
	return nil
}
