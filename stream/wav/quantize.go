package wav

import "math"

// S16 quantises a sample to 16-bit PCM: round(v·32768), clamped to [−32768, 32767]; NaN gives 0.
// It is the one s16 quantiser of rephase (Write, Writer, Recorder and the raw s16 output of
// rephase synth and stream), and the inverse of how Read scales 16-bit PCM (v = q/32768), so a
// 16-bit file read and written again is bit-identical. The price is that +1.0 clips to 32767,
// 1/32768 below it; −1.0 is exact.
func S16(v float64) int16 {
	q := math.Round(v * 32768)
	switch {
	case q >= 32767:
		return 32767
	case q <= -32768:
		return -32768
	case q == q:
		return int16(q)
	}
	return 0 // NaN
}
