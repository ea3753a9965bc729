package stream

import (
	"testing"

	"github.com/rephase/rephase/retrieval"
)

// repeatFrames is an Effects that passes each frame on k times (a crude ×k time stretch) and
// counts the frames it sees.
type repeatFrames struct {
	k, seen int
	out     [][]float64
}

func (r *repeatFrames) Push(mag []float64) [][]float64 {
	r.seen++
	r.out = r.out[:0]
	for range r.k {
		r.out = append(r.out, mag)
	}
	return r.out
}

func (r *repeatFrames) Stretch() float64 { return float64(r.k) }

// TestPipelineEffects: effects that keep the frame rate see every analysed frame and, passing
// them on unchanged, leave the output bit for bit as it is without effects; a ×2 stretch sends
// the engine twice the frames, and Flush then cuts nothing: the output is every hop the engine
// emitted and its tail, less the compensated delay.
func TestPipelineEffects(t *testing.T) {
	e, err := NewEngine(Config{STFT: retrieval.Config{NFFT: 256, Hop: 64}, SampleRate: 16000, ItersPerHop: 4, Lookahead: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, err := NewAnalyzer(e.Config().STFT)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	x := retrieval.LogChirp(3000, 16000, 300, 5000)
	want, err := Resynthesize(e, a, x)
	if err != nil {
		t.Fatal(err)
	}
	run := func(fx Effects) []float64 {
		p, err := NewPipeline(e, a, Aligned)
		if err != nil {
			t.Fatal(err)
		}
		p.SetEffects(fx)
		var got []float64
		keep := func(y []float64) error { got = append(got, y...); return nil }
		if err := p.Write(x, keep); err != nil {
			t.Fatal(err)
		}
		if err := p.Flush(keep); err != nil {
			t.Fatal(err)
		}
		return got
	}
	one := &repeatFrames{k: 1}
	got := run(one)
	frames := a.Config().Frames(len(x))
	if one.seen != frames || len(got) != len(want) {
		t.Fatalf("identity effect saw %d frames (want %d), output %d samples (want %d)", one.seen, frames, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("identity effect: sample %d is %g, without effects %g", i, got[i], want[i])
		}
	}
	two := &repeatFrames{k: 2}
	got = run(two)
	if e.Stats().Frames != int64(2*frames) {
		t.Errorf("×2: the engine got %d frames, want %d", e.Stats().Frames, 2*frames)
	}
	if n := 2*frames*e.Hop() + e.FlushLen() - e.Latency().FileDelay; len(got) != n {
		t.Errorf("×2: %d samples out, want %d (every hop and the tail, less the delay)", len(got), n)
	}
}

// TestFramePipeline: a frame pipeline fed an Analyzer's frames gives what the sample pipeline
// gives (compensated, cut at the signal's length), and without compensation the engine's stream
// with its first FileDelay samples zeroed, up to the end of the tail.
func TestFramePipeline(t *testing.T) {
	x := testSignal()[:6000]
	cfg := retrieval.Config{NFFT: 512, Hop: 128}
	e, err := NewEngine(Config{STFT: cfg, ItersPerHop: 4, Lookahead: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, err := NewAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want, err := Resynthesize(e, a, x)
	if err != nil {
		t.Fatal(err)
	}
	a.Reset()
	var frames [][]float64
	keep := func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil }
	a.Write(x, keep)
	a.Flush(keep)
	for _, align := range []Alignment{Aligned, Delayed} {
		p := NewFramePipeline(e, align, 0)
		p.SetLength(int64(len(x)))
		var y []float64
		emit := func(v []float64) error { y = append(y, v...); return nil }
		for _, f := range frames {
			if err := p.WriteFrame(f, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(emit); err != nil {
			t.Fatal(err)
		}
		if align == Delayed {
			d := e.Latency().FileDelay
			if len(y) != len(frames)*e.Hop()+e.FlushLen() {
				t.Fatalf("uncompensated: %d samples, want the engine's %d", len(y), len(frames)*e.Hop()+e.FlushLen())
			}
			for i, v := range y[:d] {
				if v != 0 {
					t.Fatalf("uncompensated sample %d = %g, want 0 within the file delay", i, v)
				}
			}
			y = y[d:][:len(x)]
		}
		if len(y) != len(want) {
			t.Fatalf("%v: %d samples, want %d", align, len(y), len(want))
		}
		for i := range y {
			if y[i] != want[i] {
				t.Fatalf("%v: sample %d = %g, want %g", align, i, y[i], want[i])
			}
		}
	}
}
