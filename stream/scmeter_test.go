package stream

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rephase/rephase/retrieval"
)

// TestSCMeterMatchesRetrieval streams a reference and a noisy estimate through the meter in
// blocks of random sizes, the estimate lagging, and checks the figure against
// retrieval.STFTSpectralConvergenceDB on the whole signals, for short and long signals and
// hops that divide the length or not.
func TestSCMeterMatchesRetrieval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ n, nfft, hop int }{
		{100, 64, 16}, {257, 64, 16}, {1000, 64, 16}, {4096, 256, 64}, {5003, 256, 100}, {20000, 512, 128}, {16384, 512, 128},
	} {
		x, y := make([]float64, c.n), make([]float64, c.n)
		for i := range x {
			x[i] = math.Sin(0.05*float64(i)) + 0.3*rng.NormFloat64()
			y[i] = x[i] + 0.1*rng.NormFloat64()
		}
		cfg := retrieval.Config{NFFT: c.nfft, Hop: c.hop}
		want := retrieval.STFTSpectralConvergenceDB(cfg, x, y)
		m, err := NewSCMeter(cfg, c.n)
		if err != nil {
			t.Fatal(err)
		}
		i, j := 0, 0
		for i < c.n || j < c.n {
			if i < c.n {
				k := min(c.n, i+1+rng.IntN(300))
				m.WriteRef(x[i:k])
				i = k
			}
			if i-j > 700 || i == c.n {
				k := min(c.n, j+1+rng.IntN(400))
				m.WriteEst(y[j:k])
				j = k
			}
		}
		got := m.DB()
		m.Close()
		if math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("n %d, n_fft %d, hop %d: %.12f dB, retrieval %.12f dB", c.n, c.nfft, c.hop, got, want)
		}
		if len(m.ref.buf) > 4*c.nfft+1000 {
			t.Errorf("n %d: the meter kept %d samples", c.n, len(m.ref.buf))
		}
	}
}

// TestPipelineBlocksMatchResynthesize feeds a signal to a Pipeline in blocks of random sizes and
// checks the output is bit-identical to Resynthesize's, with and without compensation.
func TestPipelineBlocksMatchResynthesize(t *testing.T) {
	cfg := retrieval.Config{NFFT: 256, Hop: 64}
	e, err := NewEngine(Config{STFT: cfg, SampleRate: 16000, ItersPerHop: 4, Lookahead: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, _ := NewAnalyzer(cfg)
	defer a.Close()
	x := retrieval.LogChirp(5000, 16000, 100, 4000)
	want, err := Resynthesize(e, a, x)
	if err != nil || len(want) != len(x) {
		t.Fatalf("Resynthesize: %v, %d samples", err, len(want))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, align := range []Alignment{Aligned, Delayed} {
		p, err := NewPipeline(e, a, align)
		if err != nil {
			t.Fatal(err)
		}
		var got []float64
		keep := func(y []float64) error { got = append(got, y...); return nil }
		for i := 0; i < len(x); {
			k := min(len(x), i+1+rng.IntN(500))
			if err := p.Write(x[i:k], keep); err != nil {
				t.Fatal(err)
			}
			i = k
		}
		if err := p.Flush(keep); err != nil {
			t.Fatal(err)
		}
		delay := e.Latency().FileDelay
		if align == Aligned {
			delay = 0
		}
		if len(got) != len(x)+delay || p.Emitted() != len(got) {
			t.Fatalf("%v: %d samples, want %d", align, len(got), len(x)+delay)
		}
		for i, v := range got[:delay] {
			if v != 0 {
				t.Fatalf("no compensation: sample %d of the latency is %g", i, v)
			}
		}
		for i, v := range got[delay:] {
			if v != want[i] {
				t.Fatalf("%v: sample %d is %g, Resynthesize %g", align, i, v, want[i])
			}
		}
	}
}

// TestPipelineOutputLength: the output has the input's length (plus FileDelay without
// compensation) for every look-ahead and for lengths that are not a multiple of the hop. At ℓ = 0
// the frames that Flush pushes used to run past it (6034 samples in, 6144 out).
func TestPipelineOutputLength(t *testing.T) {
	cfg := retrieval.Config{NFFT: 256, Hop: 64}
	for _, l := range []int{0, 1, 3} {
		for _, n := range []int{1, 63, 64, 200, 6034} {
			for _, align := range []Alignment{Aligned, Delayed} {
				c := Config{STFT: cfg, Lookahead: l, ItersPerHop: 1}
				if l == 0 {
					c.WarmStart = RTPGHICausal
				}
				e, err := NewEngine(c)
				if err != nil {
					t.Fatal(err)
				}
				a, _ := NewAnalyzer(cfg)
				p, err := NewPipeline(e, a, align)
				if err != nil {
					t.Fatal(err)
				}
				got := 0
				count := func(y []float64) error { got += len(y); return nil }
				x := testSignal()[:n]
				if err := p.Write(x, count); err != nil {
					t.Fatal(err)
				}
				if err := p.Flush(count); err != nil {
					t.Fatal(err)
				}
				want := n
				if align == Delayed {
					want += e.Latency().FileDelay
				}
				if got != want {
					t.Errorf("ℓ = %d, %d samples, %v: %d out, want %d", l, n, align, got, want)
				}
				e.Close()
				a.Close()
			}
		}
	}
}
