package benchmarks

import (
	"math"
	"strconv"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

// BenchmarkEnginePush times Engine.Push per frame (16 kHz, n_fft 512, hop 128, K = 16) for each
// optimizer and look-ahead ℓ ∈ {0, 1, 2, 3} (ℓ = 0 with the causal RTPGHI warm start), with 0
// allocations, and reports the real-time factor (compute time /
// hop duration of 8 ms).
//
//	go test -run '^$' -bench EnginePush -count 6 ./benchmarks
func BenchmarkEnginePush(b *testing.B) {
	cfg := retrieval.Config{NFFT: 512, Hop: 128}
	x := make([]float64, 4*16000)
	for i := range x {
		t := float64(i) / 16000
		x[i] = 0.5*math.Sin(2*math.Pi*(200*t+30*t*t)) + 0.2*math.Sin(2*math.Pi*1234*t)
	}
	an, err := stream.NewAnalyzer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var frames [][]float64
	an.Write(x, func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil })
	for _, o := range []stream.Optimizer{stream.LBFGS, stream.FGLA, stream.GLA, stream.Adam} {
		for _, look := range []int{0, 1, 2, 3} {
			b.Run(o.String()+"/lookahead="+strconv.Itoa(look), func(b *testing.B) {
				ec := stream.Config{STFT: cfg, Optimizer: o, Lookahead: look, ItersPerHop: 16}
				if look == 0 {
					ec.WarmStart = stream.RTPGHICausal
				}
				e, err := stream.NewEngine(ec)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				hop := make([]float64, 128)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if i%len(frames) == 0 {
						e.Reset()
					}
					e.Push(hop, frames[i%len(frames)])
				}
				perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perFrame, "ns/frame")
				b.ReportMetric(perFrame/8e6, "rtf")
			})
		}
	}
}
