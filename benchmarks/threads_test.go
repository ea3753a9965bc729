package benchmarks

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// Offline thread scaling (issue 19, item 3): the same work on 1 and on 2 threads, alternated
// within every benchmark iteration, so that the ratio is measured side by side on a machine
// whose load changes (the one here is shared).

// BenchmarkInvertThreads runs rephase invert's default inversion (FGLA, 100 iterations with the
// padding relaxation, inconsistency checks every 20 iterations, tolerance 1e-4) of 30 s of
// 16 kHz music (Music, n_fft 512, hop 128) once on 1 thread and once on 2 per benchmark
// iteration, and then the machine's ceiling: 20 FFT pairs per frame (n_fft 512), independent
// work with nothing shared, on 1 goroutine and split over 2. Metrics: ms per inversion
// iteration on each (Result.Iterations), their ratio (speedup, 1 thread over 2), and the
// ceiling's ratio (ceiling), each over all benchmark iterations.
//
//	go test -run '^$' -bench InvertThreads -benchtime 1x -count 5 ./benchmarks
func BenchmarkInvertThreads(b *testing.B) {
	p := threadsProblem(b, Music(gradRate, 30, NoDrums))
	var per, ceil [2]time.Duration
	var iters [2]int
	b.ResetTimer()
	for range b.N {
		for i, threads := range []int{1, 2} {
			t0 := time.Now()
			opt := retrieval.DefaultOptions()
			opt.Threads = threads
			r, err := retrieval.Invert(p, opt)
			if err != nil {
				b.Fatal(err)
			}
			per[i] += time.Since(t0)
			iters[i] += r.Iterations
		}
		pairs := 20 * p.S.Frames()
		for i, threads := range []int{1, 2} {
			t0 := time.Now()
			var wg sync.WaitGroup
			for range threads {
				wg.Add(1)
				go func() { fftPairs(pairs / threads); wg.Done() }()
			}
			wg.Wait()
			ceil[i] += time.Since(t0)
		}
	}
	ms := func(i int) float64 { return per[i].Seconds() * 1e3 / float64(iters[i]) }
	b.ReportMetric(ms(0), "ms/iter-1t")
	b.ReportMetric(ms(1), "ms/iter-2t")
	b.ReportMetric(ms(0)/ms(1), "speedup")
	b.ReportMetric(ceil[0].Seconds()/ceil[1].Seconds(), "ceiling")
}

// fftPairs runs n forward and inverse real FFT pairs of n_fft 512 on a plan and buffers of its
// own.
func fftPairs(n int) {
	plan := fft.New(gradNFFT)
	defer plan.Close()
	x, y := make([]float64, gradNFFT), make([]float64, gradNFFT)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	spec := make([]complex128, gradNFFT/2+1)
	for range n {
		plan.Forward(spec, x)
		plan.Inverse(y, spec)
	}
}

// BenchmarkEvalThreads times Problem.Eval (F and ∇F) on 1 and 2 threads, alternated in rounds
// of 20 evaluations, for inputs from 64 to 3 750 frames (n_fft 512, hop 128, 16 kHz): where
// the threads start to gain is the threshold minFramesPerThread in retrieval. Metrics: µs per
// evaluation on each and the ratio (1 thread over 2). Inputs below 2·minFramesPerThread frames
// run single-threaded whatever is asked; their ratio is 1 up to noise.
//
//	go test -run '^$' -bench EvalThreads -count 5 ./benchmarks
func BenchmarkEvalThreads(b *testing.B) {
	for _, frames := range []int{64, 128, 256, 512, 3750} {
		b.Run(fmt.Sprintf("frames=%d", frames), func(b *testing.B) {
			n := (frames - 1) * gradHop
			x := make([]float64, n)
			for i := range x {
				t := float64(i) / gradRate
				x[i] = math.Sin(2*math.Pi*(200*t+300*t*t)) + 0.1*math.Sin(2*math.Pi*3100*t)
			}
			p := threadsProblem(b, x)
			y := slices.Clone(x)
			for i := range y {
				y[i] = 0.5 * x[(i+100)%n]
			}
			evalSideBySide(b, p, y, 20)
		})
	}
}

// threadsProblem returns the Problem of x's magnitudes at n_fft 512, hop 128, closed (with its
// STFT) when b ends.
func threadsProblem(b *testing.B, x []float64) *retrieval.Problem {
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: gradNFFT, Hop: gradHop}, len(x))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p
}

// BenchmarkScalogramEvalThreads times ScalogramProblem.Eval (F and ∇F) on 1 and 2 threads,
// alternated in rounds of 5 evaluations, for 16 kHz chirps of 1 024 to 22 500 samples (Morse
// (3, 20), 10 voices per octave, default limits): where the threads start to gain is the
// threshold minCWTLength in retrieval (transforms shorter than it run single-threaded whatever
// is asked). Metrics as BenchmarkEvalThreads.
//
//	go test -run '^$' -bench ScalogramEvalThreads -count 5 ./benchmarks
func BenchmarkScalogramEvalThreads(b *testing.B) {
	for _, n := range []int{1024, 4096, 22500} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			x := make([]float64, n)
			for i := range x {
				t := float64(i) / gradRate
				x[i] = math.Sin(2*math.Pi*(200*t+3000*t*t)) * math.Exp(-t)
			}
			c, err := retrieval.NewCWT(retrieval.CWTConfig{SampleRate: gradRate}, n)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			p, err := retrieval.NewScalogramProblem(c, c.Magnitude(nil, x), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			y := make([]float64, n)
			for i := range y {
				y[i] = 0.5 * x[(i+100)%n]
			}
			evalSideBySide(b, p, y, 5)
			b.ReportMetric(float64(c.Scales()), "scales")
		})
	}
}

// evalSideBySide times p.Eval (F and ∇F at y) on 1 and on 2 threads, alternating rounds of
// rounds evaluations, and reports µs per evaluation on each and their ratio.
func evalSideBySide(b *testing.B, p interface {
	SetThreads(int)
	Eval(grad, x []float64) float64
}, y []float64, rounds int) {
	g := make([]float64, len(y))
	var per [2]time.Duration
	b.ResetTimer()
	for range b.N {
		for i, threads := range []int{1, 2} {
			p.SetThreads(threads)
			t0 := time.Now()
			for range rounds {
				p.Eval(g, y)
			}
			per[i] += time.Since(t0)
		}
	}
	us := func(i int) float64 { return per[i].Seconds() * 1e6 / float64(rounds*b.N) }
	b.ReportMetric(us(0), "µs/eval-1t")
	b.ReportMetric(us(1), "µs/eval-2t")
	b.ReportMetric(us(0)/us(1), "speedup")
}
