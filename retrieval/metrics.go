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
	if len(ref) != len(est) {
		panic(fmt.Sprintf("retrieval: RelativeL2 of %d and %d samples", len(ref), len(est)))
	}
	var dm, dp, n float64
	for i, r := range ref {
		e := est[i]
		dm += (r - e) * (r - e)
		dp += (r + e) * (r + e)
		n += r * r
	}
	if n == 0 {
		if dm == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(math.Min(dm, dp) / n)
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
