package retrieval

import "math"

// LogChirp returns n samples at sampling rate fs (Hz) of cos(φ(t)) with instantaneous frequency
// rising exponentially from f0 at t = 0 to f1 at t1 = (n−1)/fs, as MATLAB's
// chirp(t, f0, t1, f1, "logarithmic"): φ(t) = 2π·f0·t1/ln(f1/f0)·((f1/f0)^(t/t1) − 1).
// MATLAB's exponential-chirp example uses n = 2048, fs = 2048, f0 = 1, f1 = 1024, plus 1.
func LogChirp(n int, fs, f0, f1 float64) []float64 {
	x := make([]float64, n)
	t1 := float64(n-1) / fs
	k := math.Log(f1 / f0)
	for i := range x {
		t := float64(i) / fs
		x[i] = math.Cos(2 * math.Pi * f0 * t1 / k * (math.Exp(k*t/t1) - 1))
	}
	return x
}
