package retrieval

import (
	"fmt"
	"math"
)

// SpectralConvergence returns ‖est − target‖_F / ‖target‖_F for two magnitude arrays of the same
// shape (linear; 20·log10 of it is the usual figure in dB, see DB). It returns +Inf when target is
// all zeros and est is not, and 0 when both are. It panics if the lengths differ.
func SpectralConvergence(est, target []float64) float64 {
	if len(est) != len(target) {
		panic(fmt.Sprintf("retrieval: SpectralConvergence of %d and %d values", len(est), len(target)))
	}
	var num, den float64
	for i, t := range target {
		d := est[i] - t
		num += d * d
		den += t * t
	}
	if den == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// DB returns 20·log10(v), the level in dB of an amplitude ratio such as spectral convergence
// (−Inf for 0).
func DB(v float64) float64 { return 20 * math.Log10(v) }

// RelativeL2 returns the relative L2 error of est against the reference ref, minimised over the
// sign, since phase retrieval of a real signal is defined only up to ±1:
//
//	min(‖ref − est‖, ‖ref + est‖) / ‖ref‖.
//
// It panics if the lengths differ and returns +Inf for an all-zero ref (0 if est is zero too).
func RelativeL2(ref, est []float64) float64 {
	var m RelativeL2Meter
	m.Add(ref, est)
	return m.Value()
}

// RelativeL2Meter is RelativeL2 of signals given block by block (a reference streamed from a
// file): Add each pair of blocks in order, then Value. Its result is RelativeL2's of the
// concatenated blocks to the last bit. The zero value is ready; it does not allocate.
type RelativeL2Meter struct{ dm, dp, n float64 }

// Add adds the next block of the reference and the estimate. It panics if their lengths differ.
func (r *RelativeL2Meter) Add(ref, est []float64) {
	if len(ref) != len(est) {
		panic(fmt.Sprintf("retrieval: RelativeL2 of %d and %d samples", len(ref), len(est)))
	}
	for i, v := range ref {
		e := est[i]
		r.dm += (v - e) * (v - e)
		r.dp += (v + e) * (v + e)
		r.n += v * v
	}
}

// Value returns min(‖ref − est‖, ‖ref + est‖) / ‖ref‖ over the blocks added: +Inf for an
// all-zero reference (0 if the estimate is zero too).
func (r *RelativeL2Meter) Value() float64 {
	if r.n == 0 {
		if r.dm == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(math.Min(r.dm, r.dp) / r.n)
}

// STFTSpectralConvergenceDB returns 20·log10 of the spectral convergence of est against ref in
// the STFT domain of cfg's n_fft, hop, win_length and window, always with center framing and
// reflect padding whatever cfg's framing: the independent metric the command line and the
// benchmarks report for any reconstruction. est must have at least len(ref) samples (the rest is
// ignored). It returns NaN for a configuration that does not resolve or a signal too short for it.
func STFTSpectralConvergenceDB(cfg Config, ref, est []float64) float64 {
	c := cfg
	c.Framing, c.Pad = Center, Reflect
	s, err := NewSTFT(c, len(ref))
	if err != nil || len(est) < len(ref) {
		return math.NaN()
	}
	defer s.Close()
	return DB(SpectralConvergence(s.Magnitude(nil, est[:len(ref)]), s.Magnitude(nil, ref)))
}
