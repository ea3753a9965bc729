package stream

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
)

// multiCase is one stream of a MultiPipeline test: its engine, analysis (nil for a frame
// pipeline), options and input.
type multiCase struct {
	e     *Engine
	a     *Analyzer
	align Alignment
	fx    Effects
	x     []float64
}

// multiCases makes n streams of different optimizers, lengths and options: stream 0 FGLA
// compensated, 1 L-BFGS uncompensated, 2 GLA through a ×2 stretch (the shortest), 3 Adam.
func multiCases(t *testing.T, n int, frames bool) []multiCase {
	t.Helper()
	x := testSignal()
	lengths := []int{5000, 9000, 3000, 7000}
	opts := []Optimizer{FGLA, LBFGS, GLA, Adam}
	cs := make([]multiCase, n)
	for i := range cs {
		c := &cs[i]
		cfg := retrieval.Config{NFFT: 512, Hop: 128}
		var err error
		if c.e, err = NewEngine(Config{STFT: cfg, SampleRate: testRate, Optimizer: opts[i%4], ItersPerHop: 3 + i}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.e.Close)
		if c.a, err = NewAnalyzer(cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.a.Close)
		c.align = Aligned
		if i == 1 {
			c.align = Delayed
		}
		if i == 2 {
			c.fx = &repeatFrames{k: 2}
		}
		c.x = x[1000*i:][:lengths[i%4]]
		if frames { // the frames the analysis gives, as the input of a frame pipeline
			var fs []float64
			keep := func(m []float64) error { fs = append(fs, m...); return nil }
			c.a.Write(c.x, keep)
			c.a.Flush(keep)
			c.x, c.a = fs, nil
		}
	}
	return cs
}

// pipeline makes c's pipeline.
func (c *multiCase) pipeline(t *testing.T) *Pipeline {
	t.Helper()
	var p *Pipeline
	if c.a == nil {
		p = NewFramePipeline(c.e, c.align, 0)
	} else {
		var err error
		if p, err = NewPipeline(c.e, c.a, c.align); err != nil {
			t.Fatal(err)
		}
	}
	p.SetEffects(c.fx)
	return p
}

// multiPipes makes the pipelines of cs.
func multiPipes(t *testing.T, cs []multiCase) []*Pipeline {
	t.Helper()
	pipes := make([]*Pipeline, len(cs))
	for i := range cs {
		pipes[i] = cs[i].pipeline(t)
	}
	return pipes
}

// alone runs c through its pipeline alone.
func (c *multiCase) alone(t *testing.T) []float64 {
	t.Helper()
	p := c.pipeline(t)
	var y []float64
	keep := func(v []float64) error { y = append(y, v...); return nil }
	if c.a == nil {
		p.SetLength(int64(len(c.x) / c.e.Bins() * c.e.Hop()))
		for f := range slices.Chunk(c.x, c.e.Bins()) {
			if err := p.WriteFrame(f, keep); err != nil {
				t.Fatal(err)
			}
		}
	} else if err := p.Write(c.x, keep); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(keep); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestMultiPipelineMatchesPipelines: one stream, and four of different lengths, optimizers and
// options (no compensation, a ×2 stretch), fed in blocks of changing sizes and flushed as each
// input ends, give bit for bit what each pipeline gives alone, on pools of 1 to 3 workers; a
// stream flushed early is complete when its Flush returns, and the rounds and the pool count
// every frame.
func TestMultiPipelineMatchesPipelines(t *testing.T) {
	for _, n := range []int{1, 4} {
		cs := multiCases(t, n, false)
		want := make([][]float64, n)
		for i := range cs {
			want[i] = cs[i].alone(t)
		}
		for _, workers := range []int{1, 2, 3} {
			m := NewMultiPipeline(multiPipes(t, cs), PoolConfig{Workers: workers})
			got := make([][]float64, n)
			emit := func(i int, y []float64) error { got[i] = append(got[i], y...); return nil }
			pos := make([]int, n)
			xs := make([][]float64, n)
			end := make([]bool, n)
			for b := 0; slices.Contains(end, false) || b == 0; b++ {
				size := []int{700, 1500, 333, 128, 2048}[b%5]
				for i, c := range cs {
					k := min(size, len(c.x)-pos[i])
					xs[i], pos[i] = c.x[pos[i]:pos[i]+k], pos[i]+k
				}
				if err := m.Write(xs, emit); err != nil {
					t.Fatal(err)
				}
				clear(end)
				for i, c := range cs {
					end[i] = pos[i] == len(c.x)
				}
				if err := m.Flush(end, emit); err != nil {
					t.Fatal(err)
				}
				for i := range cs {
					if end[i] && !slices.Equal(got[i], want[i]) {
						t.Fatalf("%d streams, %d workers: stream %d, flushed after block %d, has %d samples, want %d (bit for bit)",
							n, workers, i, b, len(got[i]), len(want[i]))
					}
				}
			}
			if err := m.Flush(nil, emit); err != nil { // every stream is flushed already: a no-op
				t.Fatal(err)
			}
			var frames int64
			for i, c := range cs {
				if !m.Flushed(i) || !slices.Equal(got[i], want[i]) {
					t.Errorf("%d streams, %d workers: stream %d differs from its pipeline alone", n, workers, i)
				}
				f := c.e.Stats().Frames
				if rs := m.Pool().RoundStats(i); rs.Frames != f {
					t.Errorf("stream %d: %d frames in the pool's stats, the engine took %d", i, rs.Frames, f)
				}
				frames = max(frames, f)
			}
			if r := m.Rounds(); r.Frames < frames || r.Percentile(50) <= 0 {
				t.Errorf("%d rounds (p50 %v) for streams of up to %d frames", r.Frames, r.Percentile(50), frames)
			}
			m.Close()
			m.Close()
		}
	}
}

// TestMultiPipelineFrames: frame pipelines fed one frame per stream per call, the shorter flushed
// first, give what each gives alone; Reset starts again with the same result.
func TestMultiPipelineFrames(t *testing.T) {
	cs := multiCases(t, 3, true)
	m := NewMultiPipeline(multiPipes(t, cs), PoolConfig{Workers: 2})
	defer m.Close()
	for range 2 {
		want := make([][]float64, len(cs))
		for i := range cs {
			want[i] = cs[i].alone(t)
		}
		m.Reset()
		got := make([][]float64, len(cs))
		emit := func(i int, y []float64) error { got[i] = append(got[i], y...); return nil }
		mags := make([][]float64, len(cs))
		end := make([]bool, len(cs))
		for j := 0; ; j++ {
			any := false
			for i, c := range cs {
				b := c.e.Bins()
				mags[i] = nil
				if (j+1)*b <= len(c.x) {
					mags[i], any = c.x[j*b:(j+1)*b], true
				}
				if j == 0 {
					m.Pipeline(i).SetLength(int64(len(c.x) / b * c.e.Hop()))
				}
			}
			if !any {
				break
			}
			if err := m.WriteFrames(mags, emit); err != nil {
				t.Fatal(err)
			}
			for i := range cs {
				end[i] = mags[i] == nil
			}
			if err := m.Flush(end, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Flush(nil, emit); err != nil {
			t.Fatal(err)
		}
		for i := range cs {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("frame stream %d: %d samples differ from the %d of its pipeline alone", i, len(got[i]), len(want[i]))
			}
		}
	}
}

// TestMultiPipelineErrors: a bad frame in one stream is that stream's *FrameError, named, and
// the other streams' frames of the round are still taken; misuse panics.
func TestMultiPipelineErrors(t *testing.T) {
	cs := multiCases(t, 3, true)
	m := NewMultiPipeline(multiPipes(t, cs), PoolConfig{Workers: 2})
	defer m.Close()
	b := cs[0].e.Bins()
	bad := slices.Clone(cs[1].x[:b])
	bad[5] = math.Inf(1)
	emit := func(i int, y []float64) error { return nil }
	for _, tc := range []struct {
		frame []float64
		bin   int
	}{{bad, 5}, {bad[:b-1], -1}} {
		m.Reset()
		err := m.WriteFrames([][]float64{cs[0].x[:b], tc.frame, cs[2].x[:b]}, emit)
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Bin != tc.bin || fe.Frame != 0 || !strings.Contains(err.Error(), "stream 1") {
			t.Errorf("bad frame at bin %d: error %v", tc.bin, err)
		}
		if f0, f2 := cs[0].e.Stats().Frames, cs[2].e.Stats().Frames; tc.bin >= 0 && (f0 != 1 || f2 != 1) {
			t.Errorf("the round's good streams took %d and %d frames, want 1", f0, f2)
		}
	}
	m.Reset()
	mustPanic(t, "Write of 2 streams", func() { m.Write(make([][]float64, 2), emit) })
	mustPanic(t, "samples into a frame pipeline", func() { m.Write([][]float64{{1}, nil, nil}, emit) })
	if err := m.Flush([]bool{true, false, false}, emit); err != nil {
		t.Fatal(err)
	}
	mustPanic(t, "a frame after Flush", func() { m.WriteFrames([][]float64{cs[0].x[:b], nil, nil}, emit) })
	mustPanic(t, "a nil pipeline", func() { NewMultiPipeline([]*Pipeline{nil}, PoolConfig{}) })
}
