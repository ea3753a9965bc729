package benchmarks

import (
	"math"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

// BenchmarkSTFTAnalysis times the magnitude analysis of 1.4 s at 16 kHz (n_fft 512, hop 128,
// center framing): offline (retrieval.STFT.Magnitude) and streaming (stream.Analyzer, one frame
// per hop). Metrics: ns per frame and the real-time factor.
//
//	go test -run '^$' -bench STFTAnalysis -count 6 ./benchmarks
func BenchmarkSTFTAnalysis(b *testing.B) {
	p, x := gradProblem(b, retrieval.Loss{}, 14*gradRate/10)
	audio := float64(len(x)) / gradRate
	frames := float64(p.S.Frames())
	b.Run("offline", func(b *testing.B) {
		mag := make([]float64, p.S.Frames()*p.S.Bins())
		b.ReportAllocs()
		for range b.N {
			p.S.Magnitude(mag, x)
		}
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(per/frames, "ns/frame")
		b.ReportMetric(per/1e9/audio, "rtf")
	})
	b.Run("streaming", func(b *testing.B) {
		an, err := stream.NewAnalyzer(retrieval.Config{NFFT: gradNFFT, Hop: gradHop})
		if err != nil {
			b.Fatal(err)
		}
		defer an.Close()
		n := 0
		sink := func([]float64) error { n++; return nil }
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			an.Reset()
			an.Write(x, sink)
		}
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(per/float64(n/b.N), "ns/frame")
		b.ReportMetric(per/1e9/audio, "rtf")
	})
}

// BenchmarkIteration times one iteration of each offline method on 1.4 s of 16 kHz audio (n_fft
// 512, hop 128, exact reflect model): b.N iterations in one Invert call, so ns/op is per
// iteration (inconsistency checks off). L-BFGS's line search may add evaluations.
//
//	go test -run '^$' -bench Iteration -count 6 ./benchmarks
func BenchmarkIteration(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  retrieval.Options
	}{
		{"gla", retrieval.Options{Optimizer: retrieval.GLA}},
		{"fgla", retrieval.Options{Optimizer: retrieval.FGLA}},
		{"lbfgs", retrieval.Options{Optimizer: retrieval.LBFGS}},
		{"adam", retrieval.Options{Optimizer: retrieval.Adam}},
		{"sgdm", retrieval.Options{Optimizer: retrieval.SGDM}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, _ := gradProblem(b, retrieval.Loss{}, 14*gradRate/10)
			opt := c.opt
			opt.MaxIter, opt.Tol, opt.Exact = b.N, 0, true
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := retrieval.Invert(p, opt); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.S.Frames()), "ns/frame")
		})
	}
}

// BenchmarkScalogramGradient times one evaluation of the scalogram loss and its gradient
// (retrieval.ScalogramProblem.Eval): 1.4 s at 16 kHz (22 500 samples with padding), Morse (3, 20),
// 10 voices per octave, cwtfreqbounds limits with cutoff 100 (127 scales): two complex FFTs of
// 22 500 points per scale.
//
//	go test -run '^$' -bench ScalogramGradient -count 3 ./benchmarks
func BenchmarkScalogramGradient(b *testing.B) {
	n := 22500
	x := make([]float64, n)
	for i := range x {
		t := float64(i) / gradRate
		x[i] = math.Sin(2*math.Pi*(200*t+300*t*t)) * math.Exp(-t)
	}
	c, err := retrieval.NewCWT(retrieval.CWTConfig{SampleRate: gradRate, Cutoff: 100}, n)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p, err := retrieval.NewScalogramProblem(c, c.Magnitude(nil, x), nil)
	if err != nil {
		b.Fatal(err)
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = 0.5 * x[(i+100)%n]
	}
	g := make([]float64, n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.Eval(g, y)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.Scales()), "ns/scale")
}
