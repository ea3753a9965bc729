package benchmarks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
	"github.com/rephase/rephase/stream"
)

// boundFrames is the offline problem's length in frames: 1.42 s at 16 kHz, n_fft 512, hop 128,
// center framing (issue 19's figure).
const boundFrames = 179

// boundRun is the number of offline iterations per Invert call (the benchmark matrix's count).
const boundRun = 200

// pairTimer times the FFT-pair bound: one forward and one inverse real FFT of size n_fft with the
// build's default backend (FFTW under cgo) on its own aligned buffers, as BenchmarkFFTPair does.
// A benchmark interleaves it with the cost it bounds (run after each chunk of the timed work, with
// the timer stopped, as many pairs as the chunk needed), so that both see the same load on a
// shared machine; the ratio of the two totals is the multiple of the bound.
type pairTimer struct {
	plan   *fft.Plan
	x, out []float64
	spec   []complex128
	total  time.Duration // time of the pairs run so far
	pairs  int
}

func newPairTimer(n int) *pairTimer {
	rng := rand.New(rand.NewPCG(5, 6))
	t := &pairTimer{plan: fft.New(n), x: make([]float64, n), out: make([]float64, n), spec: make([]complex128, n/2+1)}
	for i := range t.x {
		t.x[i] = rng.NormFloat64()
	}
	return t
}

func (t *pairTimer) pair() {
	t.plan.Forward(t.spec, t.x)
	t.plan.Inverse(t.out, t.spec)
}

// run runs n pairs with b's timer stopped and adds them to the totals.
func (t *pairTimer) run(b *testing.B, n int) {
	b.StopTimer()
	t0 := time.Now()
	for range n {
		t.pair()
	}
	t.total += time.Since(t0)
	t.pairs += n
	b.StartTimer()
}

// report reports x-bound (b's timed total over the bound's: the pairs run, scaled to the pairs
// the work needs), pair-ns (one pair, interleaved) and ns/pair (b's time per pair needed), and
// resets the totals.
func (t *pairTimer) report(b *testing.B, needed float64) {
	pair := float64(t.total.Nanoseconds()) / float64(t.pairs)
	el := float64(b.Elapsed().Nanoseconds())
	b.ReportMetric(el/(needed*pair), "x-bound")
	b.ReportMetric(pair, "pair-ns")
	b.ReportMetric(el/needed, "ns/pair")
	t.total, t.pairs = 0, 0
}

// BenchmarkBound expresses the cost of one offline iteration (179 frames) and one engine hop
// (ℓ = 3, K = 16, and for the default optimizers K = 128, within the file-mode default's range,
// as engine/*-k128) per optimizer as a multiple of the FFT-pair bound (pairTimer), interleaved with
// it: frames × one pair of n_fft 512 per offline iteration, (iterations run) × (frames in the hop's loss) pairs
// per hop. Metrics: x-bound (the ratio), pair-ns (one pair, interleaved) and ns/pair (the work's
// time per pair needed); ns/op is per iteration or per hop. 16 kHz, n_fft 512, hop 128, Hann;
// offline on the exact reflect model (tolerance off, L-BFGS's line search included) in runs of
// 200 iterations from the default start; the engine on a chirp over a vibrato tone, RTPGHI warm
// start, whose one-frame delay leaves ℓ + n_fft/hop − 1 = 6 frames in the loss. parts/* split
// the fused gradient pass (benchmarkPassParts).
//
//	go test -run '^$' -bench Bound -count 5 ./benchmarks
func BenchmarkBound(b *testing.B) {
	pt := newPairTimer(gradNFFT)
	defer pt.plan.Close()
	b.Run("fft-pair", func(b *testing.B) {
		for range b.N {
			pt.pair()
		}
	})
	for _, c := range []struct {
		name string
		opt  retrieval.Options
	}{
		{"gla", retrieval.Options{Optimizer: retrieval.GLA}},
		{"fgla", retrieval.Options{Optimizer: retrieval.FGLA}},
		{"lbfgs", retrieval.Options{Optimizer: retrieval.LBFGS}},
		{"adam", retrieval.Options{Optimizer: retrieval.Adam}},
		{"gla-float32", retrieval.Options{Optimizer: retrieval.GLA, Precision: fft.Float32}},
		{"fgla-float32", retrieval.Options{Optimizer: retrieval.FGLA, Precision: fft.Float32}},
		{"lbfgs-float32", retrieval.Options{Optimizer: retrieval.LBFGS, Precision: fft.Float32}},
	} {
		b.Run("offline/"+c.name, func(b *testing.B) {
			p, _ := gradProblem(b, retrieval.Loss{}, (boundFrames-1)*gradHop)
			defer p.S.Close()
			if p.S.Frames() != boundFrames {
				b.Fatalf("%d frames, want %d", p.S.Frames(), boundFrames)
			}
			// Runs of at most boundRun iterations from the same start, as in the benchmark
			// matrix, so that the mix of early and late iterations does not depend on b.N.
			iters := 0
			b.ResetTimer()
			for done := 0; done < b.N; {
				opt := c.opt
				opt.MaxIter, opt.Tol, opt.Exact = min(boundRun, b.N-done), 0, true
				res, err := retrieval.Invert(p, opt)
				if err != nil {
					b.Fatal(err)
				}
				done += opt.MaxIter
				iters += res.Iterations // fewer when L-BFGS stalls
				pt.run(b, res.Iterations*boundFrames)
			}
			pt.report(b, float64(iters*boundFrames))
		})
	}
	benchmarkPassParts(b, pt)
	frames := boundEngineFrames(b)
	const look = 3
	inLoss := look + (gradNFFT+gradHop-1)/gradHop - 1
	for _, c := range []struct {
		o    stream.Optimizer
		prec fft.Precision
		k    int
	}{{stream.GLA, fft.Float64, 16}, {stream.FGLA, fft.Float64, 16}, {stream.LBFGS, fft.Float64, 16}, {stream.Adam, fft.Float64, 16},
		{stream.GLA, fft.Float32, 16}, {stream.FGLA, fft.Float32, 16}, {stream.LBFGS, fft.Float32, 16},
		{stream.GLA, fft.Float32, 128}, {stream.FGLA, fft.Float32, 128}, {stream.LBFGS, fft.Float64, 128}} {
		name := c.o.String()
		if c.prec == fft.Float32 {
			name += "-float32"
		}
		k := c.k
		if k != 16 {
			name += fmt.Sprintf("-k%d", k)
		}
		b.Run("engine/"+name, func(b *testing.B) {
			e, err := stream.NewEngine(stream.Config{STFT: retrieval.Config{NFFT: gradNFFT, Hop: gradHop},
				Optimizer: c.o, Lookahead: look, ItersPerHop: k, Precision: c.prec})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			hop := make([]float64, e.Hop())
			for _, f := range frames[:16] {
				e.Push(hop, f)
			}
			// The iterations actually run (L-BFGS stops a hop at 64), from the engine's count.
			last := e.Stats().Iterations
			b.ResetTimer()
			for i := range b.N {
				e.Push(hop, frames[16+i%(len(frames)-16)])
				if i%64 == 63 || i == b.N-1 {
					its := e.Stats().Iterations
					pt.run(b, int(its-last)*inLoss)
					last = its
				}
			}
			pt.report(b, float64(pt.pairs))
		})
	}
}

// benchmarkPassParts splits the per-frame cost of the fused gradient pass (fft.Plan.MagnitudePass:
// windowing, forward FFT, per-bin magnitude map, inverse FFT, windowed accumulation, one cgo call)
// on one hot frame of n_fft 512, each part as a multiple of the pair: the whole pass; the pass
// without its inverse (acc nil: windowing, forward, the loss sum); the forward FFT alone; the
// magnitude map alone (fft.MagnitudeMap, one cgo call); and, for the cgo crossing, a pair of
// n_fft 16 (two cgo calls around FFTs of a few ns each; x-bound there is against the 512 pair).
func benchmarkPassParts(b *testing.B, pt *pairTimer) {
	const n = gradNFFT
	rng := rand.New(rand.NewPCG(7, 8))
	x, win, acc, frame := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	t := make([]float64, n/2+1)
	spec := make([]complex128, n/2+1)
	for i := range x {
		x[i] = rng.NormFloat64()
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
	}
	for k := range t {
		t[k] = 10 * rng.Float64()
	}
	small := newPairTimer(16)
	defer small.plan.Close()
	single := fft.NewSinglePass(n)
	defer single.Close()
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"pass", func() { pt.plan.MagnitudePass(acc, x, win, t, 2, -2, 0, frame, spec) }},
		{"pass-no-inverse", func() { pt.plan.MagnitudePass(nil, x, win, t, 2, -2, 0, frame, spec) }},
		{"pass-float32", func() { single.MagnitudePass(acc, x, win, t, 2, -2, 0) }},
		{"forward", func() { pt.plan.Forward(spec, x) }},
		// alpha 0, beta 1 is the projection t·X/|X|: idempotent, so spec stays the same.
		{"map", func() { fft.MagnitudeMap(spec, t, 0, 1) }},
		{"pair-n16", small.pair},
	} {
		b.Run("parts/"+c.name, func(b *testing.B) {
			for i := range b.N {
				c.f()
				if i%4096 == 4095 || i == b.N-1 {
					pt.run(b, i%4096+1)
					clear(acc) // keep the accumulator bounded
				}
			}
			pt.report(b, float64(b.N))
		})
	}
}

// boundEngineFrames analyses 6 s at 16 kHz of a chirp over a vibrato tone (Full framing, one
// frame per hop, 750 frames); the benchmark cycles through them.
func boundEngineFrames(b *testing.B) [][]float64 {
	an, err := stream.NewAnalyzer(retrieval.Config{NFFT: gradNFFT, Hop: gradHop})
	if err != nil {
		b.Fatal(err)
	}
	defer an.Close()
	x := make([]float64, 6*gradRate)
	for i := range x {
		t := float64(i) / gradRate
		x[i] = 0.4*math.Sin(2*math.Pi*(150*t+2*math.Sin(2*math.Pi*5*t))) + 0.3*math.Sin(2*math.Pi*(200*t+100*t*t))
	}
	var frames [][]float64
	an.Write(x, func(m []float64) error { frames = append(frames, slices.Clone(m)); return nil })
	return frames
}
