package benchmarks

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// Audio at 16 kHz analysed with n_fft 512, hop 128 (center framing, reflect padding): 10 s (the
// issue's figure; its 5 MB of signal, gradient and target spill out of L2) and 1.4 s (the
// offline speech clip; fits in L2).
const (
	gradRate = 16000
	gradNFFT = 512
	gradHop  = 128
)

var gradLengths = []struct {
	label string
	n     int
}{{"16kHz_10s_n_fft=512_hop=128", 10 * gradRate}, {"16kHz_1.4s_n_fft=512_hop=128", 14 * gradRate / 10}}

func gradProblem(b *testing.B, loss retrieval.Loss, gradLen int) (*retrieval.Problem, []float64) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, gradLen)
	y := make([]float64, gradLen)
	for i := range x {
		t := float64(i) / gradRate
		x[i] = math.Sin(2*math.Pi*(200*t+300*t*t)) + 0.1*rng.NormFloat64()
		y[i] = rng.NormFloat64()
	}
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: gradNFFT, Hop: gradHop}, gradLen)
	if err != nil {
		b.Fatal(err)
	}
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), loss)
	if err != nil {
		b.Fatal(err)
	}
	return p, y
}

// BenchmarkGradient times one full evaluation of F and ∇F (Problem.Eval) over 10 s of 16 kHz
// audio and reports ns per frame, next to BenchmarkGradient/fft-pair-per-frame: the same number of
// bare forward+inverse FFT pairs of size 512 with the default backend. The goal (issue 2) is a
// gradient costing ≤ 1.5× the FFT pairs, with 0 allocations.
func BenchmarkGradient(b *testing.B) {
	for _, gl := range gradLengths {
		benchmarkGradient(b, gl.label, gl.n)
	}
}

func benchmarkGradient(b *testing.B, gradLabel string, gradLen int) {
	for _, c := range []struct {
		name string
		loss retrieval.Loss
	}{{"mse", retrieval.Loss{}}, {"compress0.3", retrieval.Loss{Compress: 0.3}}} {
		b.Run(c.name+"/"+gradLabel, func(b *testing.B) {
			p, y := gradProblem(b, c.loss, gradLen)
			defer p.S.Close()
			g := make([]float64, len(y))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Eval(g, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.S.Frames()), "ns/frame")
		})
	}
	b.Run("fft-pair-per-frame/"+gradLabel, func(b *testing.B) {
		frames := 1 + gradLen/gradHop
		plan := fft.New(gradNFFT)
		defer plan.Close()
		rng := rand.New(rand.NewPCG(5, 6))
		x := make([]float64, gradNFFT)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		out := make([]float64, gradNFFT)
		spec := make([]complex128, gradNFFT/2+1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for m := 0; m < frames; m++ {
				plan.Forward(spec, x)
				plan.Inverse(out, spec)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(frames), "ns/frame")
	})
}
