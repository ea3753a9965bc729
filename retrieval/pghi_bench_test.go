package retrieval

import (
	"math"
	"testing"
)

// BenchmarkRTPGHIFrame times one look-ahead RTPGHI frame (n_fft 512, 257 bins) on a harmonic
// tone complex with vibrato, the engine's warm start per hop.
func BenchmarkRTPGHIFrame(b *testing.B) {
	const n, rate = 16000, 16000.0
	x := make([]float64, n)
	for i := range x {
		t := float64(i) / rate
		f0 := 150 * (1 + 0.03*math.Sin(2*math.Pi*5*t))
		for h := 1.0; h <= 12; h++ {
			x[i] += math.Sin(2*math.Pi*h*f0*t) / h
		}
	}
	cfg := Config{NFFT: 512, Hop: 128, Framing: Full, Pad: Zero}
	s, err := NewSTFT(cfg, n)
	if err != nil {
		b.Fatal(err)
	}
	mag := s.Magnitude(nil, x)
	bins, frames := s.Bins(), s.Frames()
	r, err := NewRTPGHI(cfg, PGHITolerance, 1)
	if err != nil {
		b.Fatal(err)
	}
	phase := make([]float64, bins)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := 1 + i%(frames-2)
		if m == 1 {
			r.Reset()
		}
		r.Frame(phase, mag[(m-1)*bins:m*bins], mag[m*bins:(m+1)*bins], mag[(m+1)*bins:(m+2)*bins])
	}
}
