//go:build !race

package live

import (
	"testing"

	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
)

// The allocation tests run without the race detector, which allocates on its own.

const raceEnabled = false

// counting is a Sink that only counts.
type counting struct{ n int }

func (c *counting) Write(b []float32) error { c.n += len(b); return nil }

// TestWorkerHopDoesNotAllocate: a device run's hop (input ring → float64 → pipeline → output
// ring and sinks, with the probes' records) allocates nothing once the engine is warm.
func TestWorkerHopDoesNotAllocate(t *testing.T) {
	cfg := engineConfig()
	p, closeAll, err := newPipeline(cfg, stream.Delayed)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	d := newFakeDevice(1<<12, true, nil)
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: rate, ClickEvery: 1000, ClickAmp: 0.5}
	var sink counting
	w := newWorker(p, d, Config{Engine: cfg, Probe: sine, Sinks: []Sink{&sink}}, cfg.STFT.Hop, 200*cfg.STFT.Hop, 0)
	hop := make([]float32, cfg.STFT.Hop)
	drain := make([]float32, 1<<12)
	step := func() {
		sine.Fill(hop)
		d.inP.Write(hop)
		if err := w.step(); err != nil {
			t.Fatal(err)
		}
		d.outC.Read(drain[:d.outC.Available()])
	}
	for range 20 {
		step()
	}
	if a := testing.AllocsPerRun(100, step); a != 0 {
		t.Errorf("%v allocations per hop", a)
	}
	if sink.n != 121*cfg.STFT.Hop || len(w.played) != sink.n || len(w.inSeq) != sink.n {
		t.Errorf("%d samples to the sink, %d played, %d input kept after 121 hops", sink.n, len(w.played), len(w.inSeq))
	}
}

// TestChannelsBlockDoesNotAllocate: a block of file resynthesis (every channel's pipeline on the
// pool, the meters, the interleaving into the Writer) allocates nothing once the buffers have
// grown.
func TestChannelsBlockDoesNotAllocate(t *testing.T) {
	cfg := engineConfig()
	var w discard
	in := &memReader{ch: [][]float64{make([]float64, 1<<20), nil}} // two channels of 2^20 samples
	s, err := newStreams(cfg, []Reader{in}, []Writer{&w}, stream.Aligned, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	ch := s.groups[0]
	x := chirp(1000)
	block := [][]float64{x, x}
	step := func() {
		if err := s.writeOne(block); err != nil {
			t.Fatal(err)
		}
		ch.writeRef(block)
		if err := ch.writeTaken(); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		step()
	}
	if a := testing.AllocsPerRun(20, step); a != 0 {
		t.Errorf("%v allocations per block", a)
	}
}
