package stream

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
)

// poolFrames analyses n different 0.25 s signals (the test signal scaled, shifted and reversed),
// one frame list per stream.
func poolFrames(t *testing.T, n int) [][][]float64 {
	t.Helper()
	x := testSignal()
	out := make([][][]float64, n)
	for s := range out {
		a, err := NewAnalyzer(retrieval.Config{NFFT: 512, Hop: 128})
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, testRate/4)
		for i := range y {
			j := (i + 1000*s) % len(x)
			if s%2 == 1 {
				j = len(x) - 1 - j
			}
			y[i] = (1 + 0.2*float64(s)) * x[j]
		}
		a.Write(y, func(m []float64) error { out[s] = append(out[s], slices.Clone(m)); return nil })
		a.Close()
	}
	return out
}

func poolEngines(t *testing.T, n int) []*Engine {
	t.Helper()
	opts := []Optimizer{FGLA, LBFGS, GLA, Adam, SGDM}
	es := make([]*Engine, n)
	for i := range es {
		var err error
		es[i], err = NewEngine(Config{STFT: retrieval.Config{NFFT: 512, Hop: 128}, SampleRate: testRate,
			Optimizer: opts[i%len(opts)], ItersPerHop: 3 + i%4, Lookahead: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(es[i].Close)
	}
	return es
}

// TestPoolMatchesSequentialEngines runs streams of different optimizers and inputs through pools
// of 1, 2 and 3 workers, with streams skipping rounds and one bad frame, and checks every hop
// against the same engines run one after the other: bit-identical.
func TestPoolMatchesSequentialEngines(t *testing.T) {
	const n = 7
	frames := poolFrames(t, n)
	skip := func(s, r int) bool { return (s+r)%5 == 0 } // stream s has no frame in round r
	bad := func(s, r int) bool { return s == 3 && r == 10 }
	want := make([][][]float64, n)
	for s, e := range poolEngines(t, n) {
		for r, f := range frames[s] {
			if skip(s, r) {
				continue
			}
			if bad(s, r) {
				continue // rejected by the engine, state unchanged
			}
			hop := make([]float64, e.Hop())
			if err := e.Push(hop, f); err != nil {
				t.Fatal(err)
			}
			want[s] = append(want[s], hop)
		}
	}
	for _, workers := range []int{1, 2, 3} {
		p := NewPool(poolEngines(t, n), PoolConfig{Workers: workers})
		got := make([]int, n)
		for r := range frames[0] {
			for s := range n {
				switch {
				case skip(s, r):
				case bad(s, r):
					f := slices.Clone(frames[s][r])
					f[7] = math.NaN()
					p.Push(s, f)
				default:
					p.Push(s, frames[s][r])
				}
			}
			p.Round()
			for s := range n {
				if skip(s, r) {
					continue
				}
				var fe *FrameError
				if err := p.Err(s); bad(s, r) != errors.As(err, &fe) {
					t.Fatalf("%d workers, stream %d, round %d: error %v", workers, s, r, err)
				}
				if bad(s, r) {
					if fe.Bin != 7 {
						t.Errorf("%d workers: bad frame reported at bin %d, want 7", workers, fe.Bin)
					}
					continue
				}
				if !slices.Equal(p.Output(s), want[s][got[s]]) {
					t.Fatalf("%d workers, stream %d, round %d: output differs from the sequential engine", workers, s, r)
				}
				got[s]++
			}
		}
		for s := range n {
			if rs := p.RoundStats(s); rs.Frames != int64(len(want[s])+btoi(s == 3)) {
				t.Errorf("%d workers, stream %d: %d frames in the round stats, want %d", workers, s, rs.Frames, len(want[s]))
			}
			if p.Engine(s).Stats().Frames != int64(len(want[s])) {
				t.Errorf("%d workers, stream %d: engine took %d frames, want %d", workers, s, p.Engine(s).Stats().Frames, len(want[s]))
			}
		}
		p.Close()
		p.Close()
	}
}

// TestPoolSingleStreamRounds: rounds of one pending stream (run on the caller), of two and of
// none give each stream what its engine gives alone, and count in the round stats.
func TestPoolSingleStreamRounds(t *testing.T) {
	frames := poolFrames(t, 2)
	var want [2][][]float64
	for s, e := range poolEngines(t, 2) {
		for _, f := range frames[s] {
			hop := make([]float64, e.Hop())
			if err := e.Push(hop, f); err != nil {
				t.Fatal(err)
			}
			want[s] = append(want[s], hop)
		}
	}
	p := NewPool(poolEngines(t, 2), PoolConfig{Workers: 2})
	defer p.Close()
	var next [2]int
	for r := 0; next[0] < len(frames[0]) || next[1] < len(frames[1]); r++ {
		pushed := [2]bool{r%3 != 1, r%3 != 0 && r%4 != 0} // only 0, only 1, both, none
		for s := range 2 {
			if pushed[s] = pushed[s] && next[s] < len(frames[s]); pushed[s] {
				p.Push(s, frames[s][next[s]])
			}
		}
		p.Round()
		for s := range 2 {
			if !pushed[s] {
				continue
			}
			if p.Err(s) != nil || !slices.Equal(p.Output(s), want[s][next[s]]) {
				t.Fatalf("round %d, stream %d (pushed %v): %v, or output differs from the engine alone", r, s, pushed, p.Err(s))
			}
			next[s]++
		}
	}
	for s := range 2 {
		if n := p.RoundStats(s).Frames; n != int64(len(frames[s])) {
			t.Errorf("stream %d: %d frames in the round stats, want %d", s, n, len(frames[s]))
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPoolDeadlines checks the default deadline (the hop duration), the earliest-deadline-first
// order, and the per-stream miss count: every round misses a deadline of 1 ns, none is counted
// without a deadline.
func TestPoolDeadlines(t *testing.T) {
	const n = 4
	frames := poolFrames(t, n)
	es := poolEngines(t, n)
	p := NewPool(es, PoolConfig{Workers: 2})
	defer p.Close()
	hop := time.Duration(float64(128) / testRate * float64(time.Second))
	for s := range n {
		if p.Deadline(s) != hop {
			t.Errorf("stream %d: default deadline %v, want the hop duration %v", s, p.Deadline(s), hop)
		}
	}
	p.SetDeadline(2, time.Nanosecond)
	p.SetDeadline(0, 0)
	p.SetDeadline(3, time.Millisecond)
	if want := []int{2, 3, 1, 0}; !slices.Equal(p.order, want) {
		t.Errorf("order %v, want %v (earliest deadline first, none last)", p.order, want)
	}
	for r := range 6 {
		for s := range n {
			p.Push(s, frames[s][r])
		}
		p.Round()
	}
	if m := p.RoundStats(2).DeadlineMisses; m != 6 {
		t.Errorf("1 ns deadline: %d misses in 6 rounds, want 6", m)
	}
	if m := p.RoundStats(0).DeadlineMisses; m != 0 {
		t.Errorf("no deadline: %d misses counted", m)
	}
	for s := range n {
		rs := p.RoundStats(s)
		if rs.Frames != 6 || rs.Max <= 0 || rs.Percentile(50) > rs.Max {
			t.Errorf("stream %d: round stats frames %d, max %v, p50 %v", s, rs.Frames, rs.Max, rs.Percentile(50))
		}
	}
	p.ResetStats()
	if p.RoundStats(2).Frames != 0 || p.RoundStats(2).DeadlineMisses != 0 {
		t.Error("ResetStats left counts")
	}
}

func TestPoolMisuse(t *testing.T) {
	es := poolEngines(t, 2)
	mustPanic := func(what string, f func()) { t.Helper(); mustPanic(t, what, f) }
	mustPanic("repeated engine", func() { NewPool([]*Engine{es[0], es[0]}, PoolConfig{}) })
	mustPanic("nil engine", func() { NewPool([]*Engine{es[0], nil}, PoolConfig{}) })
	mustPanic("negative workers", func() { NewPool(es, PoolConfig{Workers: -1}) })
	p := NewPool(es, PoolConfig{})
	if p.Len() != 2 || len(p.wake) < 1 {
		t.Errorf("pool of %d streams, %d workers", p.Len(), len(p.wake))
	}
	mustPanic("short frame", func() { p.Push(0, make([]float64, 10)) })
	p.Close()
	mustPanic("Round after Close", p.Round)
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}
