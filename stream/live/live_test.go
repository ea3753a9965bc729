package live

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/ringbuffer"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
	"github.com/rephase/rephase/stream/effect"
)

const rate = 16000

// engineConfig is n_fft 512, hop 128, ℓ = 3 at 16 kHz with a fixed K: deterministic output.
func engineConfig() stream.Config {
	stft, _ := retrieval.Config{NFFT: 512, Hop: 128, Framing: retrieval.Full}.Resolve()
	return stream.Config{STFT: stft, SampleRate: rate, ItersPerHop: 8, Lookahead: 3}
}

// chirp is n samples of an exponential chirp from 200 Hz to 3 kHz.
func chirp(n int) []float64 { return retrieval.LogChirp(n, rate, 200, 3000) }

// collect is a Sink that keeps what it is given.
type collect struct{ y []float32 }

func (c *collect) Write(b []float32) error { c.y = append(c.y, b...); return nil }

// aligned is the reference: the whole of x through a compensated stream.Pipeline, as
// float32 (what the sinks receive).
func aligned(t *testing.T, cfg stream.Config, x []float64) []float32 {
	t.Helper()
	p, closeAll, err := newPipeline(cfg, stream.Aligned)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var out []float32
	keep := func(y []float64) error {
		for _, v := range y {
			out = append(out, float32(v))
		}
		return nil
	}
	if err := p.Write(x, keep); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(keep); err != nil {
		t.Fatal(err)
	}
	return out
}

// fakeDevice is a Device without hardware: Start runs a "callback" goroutine that feeds the
// input ring from src (if not nil) and drains the output ring into played, as fast as the worker
// goes. The input ring may also be filled before Run.
type fakeDevice struct {
	inP          *ringbuffer.Producer
	inC          *ringbuffer.Consumer
	outP         *ringbuffer.Producer
	outC         *ringbuffer.Consumer
	hasOut       bool
	src          device.Source
	played       []float32 // the callback's, until Stop returns
	stop         chan struct{}
	done         sync.WaitGroup
	started      bool
	primed, ends atomic.Int32
	callbacks    atomic.Uint64
}

func newFakeDevice(ring int, hasOut bool, src device.Source) *fakeDevice {
	d := &fakeDevice{hasOut: hasOut, src: src, stop: make(chan struct{})}
	d.inP, d.inC = ringbuffer.New(ring)
	// The output ring is 4× larger: a real callback reads and writes the same count, so the
	// backlogs of the two rings add up to about the prefill; this goroutine, starved on a loaded
	// machine while the worker catches up on a full input ring, can leave a backlog of a whole
	// input ring plus the prefill, and the flush of the tail then overflowed a ring of equal size
	// (TestRunDeviceSourceAndProbes lost the 768 samples of the file delay that way).
	d.outP, d.outC = ringbuffer.New(4 * ring)
	return d
}

func (d *fakeDevice) Input() *ringbuffer.Consumer  { return d.inC }
func (d *fakeDevice) Output() *ringbuffer.Producer { return d.outP }
func (d *fakeDevice) HasOutput() bool              { return d.hasOut }
func (d *fakeDevice) Prime()                       { d.primed.Add(1) }
func (d *fakeDevice) EndOfStream()                 { d.ends.Add(1) }
func (d *fakeDevice) SampleRate() float64          { return rate }
func (d *fakeDevice) FramesPerBuffer() int         { return 256 }
func (d *fakeDevice) Description() string          { return "fake" }
func (d *fakeDevice) DeviceLatency() (in, out time.Duration) {
	return time.Millisecond, 2 * time.Millisecond
}
func (d *fakeDevice) Stats() device.Stats { return device.Stats{Callbacks: d.callbacks.Load()} }

func (d *fakeDevice) Start() error {
	d.started = true
	d.done.Add(1)
	go func() {
		defer d.done.Done()
		buf := make([]float32, 256)
		for {
			select {
			case <-d.stop:
				for d.hasOut && d.outC.Available() > 0 { // what the worker wrote before Stop
					n := d.outC.Read(buf)
					d.played = append(d.played, buf[:n]...)
				}
				return
			default:
			}
			if d.src != nil && d.inP.Free() >= len(buf) {
				d.src.Fill(buf)
				d.inP.Write(buf)
			}
			if d.hasOut {
				n := d.outC.Read(buf)
				d.played = append(d.played, buf[:n]...)
			}
			d.callbacks.Add(1)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	return nil
}

func (d *fakeDevice) Stop() error {
	if d.started {
		d.started = false
		close(d.stop)
		d.done.Wait()
	}
	return nil
}

func float32s(x []float64) []float32 {
	y := make([]float32, len(x))
	copy32(y, x)
	return y
}

// equal reports the first index where a and b differ (−1: none), and whether their lengths do.
func firstDiff(a, b []float32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestRunOfflineIsTheUncompensatedPipeline: offline, Run's output is the file delay's zeros
// followed by the latency-compensated resynthesis, sample for sample, FileDelay samples longer
// than the input; the report says so.
func TestRunOfflineIsTheUncompensatedPipeline(t *testing.T) {
	cfg := engineConfig()
	x := chirp(10000) // not a multiple of the hop or of Block
	var out collect
	r, err := Run(context.Background(), Config{Engine: cfg, Input: x, Sinks: []Sink{&out}})
	if err != nil {
		t.Fatal(err)
	}
	delay := r.FileDelaySamples
	if delay != 768 || len(out.y) != len(x)+delay {
		t.Fatalf("file delay %d, output %d samples for %d in", delay, len(out.y), len(x))
	}
	for i, v := range out.y[:delay] {
		if v != 0 {
			t.Fatalf("output[%d] = %g inside the file delay", i, v)
		}
	}
	if i := firstDiff(out.y[delay:], aligned(t, cfg, x)); i >= 0 {
		t.Errorf("output after the delay differs from the compensated pipeline at %d", i)
	}
	if r.Mode != "file" || r.Stretch != 1 || r.Interrupted || r.Effects != "none" || r.DeviceReport != nil || r.Probes != nil {
		t.Errorf("report %+v", r)
	}
	if want := int64(cfg.STFT.Frames(len(x))); r.Frames != want {
		t.Errorf("%d frames, want %d", r.Frames, want)
	}
}

// TestRunOfflineLimitsAndInterruption: MaxSamples cuts the input; a cancelled context stops
// after the block in progress, and the output still holds everything read, drained.
func TestRunOfflineLimitsAndInterruption(t *testing.T) {
	cfg := engineConfig()
	x := chirp(3 * Block)
	var out collect
	r, err := Run(context.Background(), Config{Engine: cfg, Input: x, MaxSamples: 5000, Sinks: []Sink{&out}})
	if err != nil || r.Interrupted || len(out.y) != 5000+r.FileDelaySamples {
		t.Errorf("MaxSamples 5000: %v, interrupted %v, %d samples out", err, r.Interrupted, len(out.y))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cut collect
	stopper := sinkFunc(func(b []float32) error { cancel(); return cut.Write(b) })
	r, err = Run(ctx, Config{Engine: cfg, Input: x, Sinks: []Sink{stopper}})
	if err != nil || !r.Interrupted || len(cut.y) != Block+r.FileDelaySamples {
		t.Errorf("cancelled in the first block: %v, interrupted %v, %d samples out, want %d", err, r.Interrupted, len(cut.y), Block+r.FileDelaySamples)
	}
	if i := firstDiff(cut.y[r.FileDelaySamples:], aligned(t, cfg, x[:Block])); i >= 0 {
		t.Errorf("the interrupted output differs at %d from the resynthesis of what was read", i)
	}
}

// topKeys returns the keys of the JSON object b.
func topKeys(b []byte) ([]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys, nil
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func abs(n int) int { return max(n, -n) }

type sinkFunc func([]float32) error

func (f sinkFunc) Write(b []float32) error { return f(b) }

// TestRunSinkErrorStops: a failing sink ends the run with its error.
func TestRunSinkErrorStops(t *testing.T) {
	full := errors.New("disk full")
	_, err := Run(context.Background(), Config{Engine: engineConfig(), Input: chirp(Block),
		Sinks: []Sink{sinkFunc(func([]float32) error { return full })}})
	if !errors.Is(err, full) {
		t.Errorf("error %v, want the sink's", err)
	}
}

// TestRunStretchOfflineOnly: a time stretch runs offline (the output twice as long, no probe
// measure since the clicks move) and is refused with a device, as is a bad configuration.
func TestRunStretchOfflineOnly(t *testing.T) {
	cfg := engineConfig()
	chain, err := effect.NewChain([]string{"stretch:2"}, cfg.STFT, rate, effect.FreeFrameRate)
	if err != nil {
		t.Fatal(err)
	}
	x := chirp(8000)
	var out collect
	r, err := Run(context.Background(), Config{Engine: cfg, Effects: chain, Input: x, Sinks: []Sink{&out},
		Probe: &device.Sine{Rate: rate, ClickEvery: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	// Two frames out per frame in, one hop each, and the engine's tail: nothing is cut.
	frames := int(r.Frames)
	if tail := len(out.y) - frames*cfg.STFT.Hop; abs(frames-2*cfg.STFT.Frames(len(x))) > 1 || tail < 0 || tail > cfg.STFT.NFFT+3*cfg.STFT.Hop ||
		r.Stretch != 2 || r.Probes != nil {
		t.Errorf("stretch ×2 of %d samples: %d frames, %d samples out, stretch %v, probes %v", len(x), r.Frames, len(out.y), r.Stretch, r.Probes)
	}
	var ie *InputError
	if _, err := Run(context.Background(), Config{Engine: cfg, Effects: chain, Device: newFakeDevice(1024, true, nil)}); !errors.As(err, &ie) ||
		!strings.Contains(err.Error(), "offline only") {
		t.Errorf("stretch with a device: %v", err)
	}
	bad := cfg
	bad.STFT.Hop = 1000 // longer than n_fft
	if _, err := Run(context.Background(), Config{Engine: bad, Input: x}); !errors.As(err, &ie) {
		t.Errorf("hop > n_fft: %v, want an *InputError", err)
	}
}

// TestRunDeviceWorker runs the device loop against a fake device whose input ring holds the
// whole signal: the device plays the prefill, then exactly the offline output; the worker
// primes the stream, ends it, and waits until the output ring has drained.
func TestRunDeviceWorker(t *testing.T) {
	cfg := engineConfig()
	x32 := float32s(chirp(16000)) // 125 hops; the rings carry float32
	x := float64s(x32)
	d := newFakeDevice(1<<15, true, nil)
	d.inP.Write(x32)
	var rec collect
	r, err := Run(context.Background(), Config{Engine: cfg, Device: d, MaxSamples: len(x), Prefill: 1000, Sinks: []Sink{&rec}})
	if err != nil {
		t.Fatal(err)
	}
	var off collect
	if _, err := Run(context.Background(), Config{Engine: cfg, Input: x, Sinks: []Sink{&off}}); err != nil {
		t.Fatal(err)
	}
	if len(d.played) != 1000+len(off.y) {
		t.Fatalf("played %d samples, want prefill 1000 + %d", len(d.played), len(off.y))
	}
	for i, v := range d.played[:1000] {
		if v != 0 {
			t.Fatalf("prefill sample %d is %g", i, v)
		}
	}
	if i := firstDiff(d.played[1000:], off.y); i >= 0 {
		t.Errorf("played output differs from the offline run at %d", i)
	}
	if i := firstDiff(rec.y, d.played); i >= 0 {
		t.Errorf("the sink's recording differs from what was played at %d", i)
	}
	if d.primed.Load() != 1 || d.ends.Load() != 1 || d.started {
		t.Errorf("primed %d, ended %d, still running %v", d.primed.Load(), d.ends.Load(), d.started)
	}
	dr := r.DeviceReport
	if r.Mode != "realtime" || dr == nil || r.Interrupted {
		t.Fatalf("report %+v", r)
	}
	if dr.BufferLatencySamples != 1000 || r.LatencySamples != 1000+r.FileDelaySamples || dr.AudioSeconds != 1 ||
		dr.OutputRingOverflow != 0 || dr.Devices != "fake" || dr.DeviceLatencyMS != (InOut{1, 2}) || dr.FramesPerBuffer != 256 {
		t.Errorf("device report %+v, latency %d samples", dr, r.LatencySamples)
	}
	if math.Abs(r.LatencyMS-1000*float64(r.LatencySamples)/rate) > 1e-9 {
		t.Errorf("latency %v ms but %d samples", r.LatencyMS, r.LatencySamples)
	}
}

// TestRunDeviceSourceAndProbes plays a sine with clicks as the device's source: the run ends
// by itself after a Source has been played, and the clicks come out the file delay plus the
// prefill later.
func TestRunDeviceSourceAndProbes(t *testing.T) {
	cfg := engineConfig()
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: rate, ClickEvery: 4000, ClickAmp: 0.5}
	d := newFakeDevice(1<<12, true, sine)
	r, err := Run(context.Background(), Config{Engine: cfg, Device: d, Probe: sine, MaxSamples: rate})
	if err != nil {
		t.Fatal(err)
	}
	prefill := 3 * max(256, 128) // the default
	if r.BufferLatencySamples != prefill {
		t.Errorf("default prefill %d, want %d", r.BufferLatencySamples, prefill)
	}
	p := r.Probes
	if p == nil || p.Count < 3 {
		t.Fatalf("probes %+v", p)
	}
	want := samplesMS(r.FileDelaySamples+prefill, rate)
	for _, l := range p.LatenciesMS {
		if math.Abs(l-want) > 2 {
			t.Errorf("a click came out after %.3f ms, want %.3f ± 2", l, want)
		}
	}

	// A file played as the input ends the run once played (no MaxSamples), after at most its
	// length plus the file delay (the worker stops early when it finds the ring empty after
	// the end); the output is the prefill, what was read, and the file delay.
	x := chirp(5000)
	src := &device.Samples{Data: float32s(x)}
	d = newFakeDevice(1<<12, true, src)
	r, err = Run(context.Background(), Config{Engine: cfg, Device: d, Source: src})
	if err != nil || r.Interrupted {
		t.Fatalf("%v, interrupted %v", err, r.Interrupted)
	}
	consumed := int(math.Round(r.AudioSeconds * rate))
	if consumed < len(x) || consumed > len(x)+r.FileDelaySamples+127 || len(d.played) != prefill+consumed+r.FileDelaySamples {
		t.Errorf("played %d samples after %d samples of input; want %d after %d to %d (output ring overflow %d)", len(d.played), consumed,
			prefill+consumed+r.FileDelaySamples, len(x), len(x)+r.FileDelaySamples, r.DeviceReport.OutputRingOverflow)
	}
}

// TestRunDeviceInterruptedAndNoOutput: without an output device nothing is prefilled or played,
// the sinks get the output; a cancelled context ends an open-ended run, reported.
func TestRunDeviceInterruptedAndNoOutput(t *testing.T) {
	cfg := engineConfig()
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: rate}
	d := newFakeDevice(1<<12, false, sine)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	stopper := sinkFunc(func(b []float32) error {
		if n.Add(int64(len(b))) >= 8000 {
			cancel()
		}
		return nil
	})
	r, err := Run(ctx, Config{Engine: cfg, Device: d, Sinks: []Sink{stopper}})
	if err != nil {
		t.Fatal(err)
	}
	consumed := int(math.Round(r.AudioSeconds * rate))
	if !r.Interrupted || r.BufferLatencySamples != 0 || n.Load() != int64(consumed+r.FileDelaySamples) {
		t.Errorf("interrupted %v, prefill %d, %d samples to the sink after %d in", r.Interrupted, r.BufferLatencySamples, n.Load(), consumed)
	}
	if d.outP.Free() != d.outP.Cap() || len(d.played) != 0 {
		t.Errorf("wrote to the output ring of a stream without output")
	}
}

// TestReportJSON: a Report is one flat JSON object with the keys of rephase live --json; the
// device's and the probes' keys only when they were measured.
func TestReportJSON(t *testing.T) {
	engine := []string{"n_fft", "hop_length", "win_length", "window", "lookahead", "optimizer", "warm_start", "precision", "sample_rate",
		"budget", "latency_ms", "latency_samples", "algorithmic_latency_ms", "algorithmic_latency_samples", "frames_latency_ms",
		"frames_latency_samples", "file_delay_ms", "file_delay_samples", "rtf", "block_ms_p50", "block_ms_p99", "block_ms_max",
		"deadline_misses", "iterations_per_hop", "iterations_per_hop_p50", "iterations_per_hop_p99", "frames"}
	file := append(engine, "mode", "input", "output", "effects", "seconds", "stretch", "interrupted")
	dev := append(engine, "mode", "input", "output", "effects", "seconds", "interrupted", "record", "devices", "audio_seconds", "load",
		"buffer_latency_ms", "buffer_latency_samples", "device_latency_ms", "frames_per_buffer", "callbacks", "xruns", "xrun_frames",
		"first_xrun_s", "input_dropped", "output_ring_overflow", "portaudio_flags", "cpu_load", "realtime_priority",
		"realtime_priority_error", "measured_latency_ms", "measured_latency_spread_ms", "probes", "probe_latencies_ms")
	f := 0.5
	for _, c := range []struct {
		r    Report
		keys []string
	}{
		{Report{Mode: "file", Stretch: 1}, file},
		{Report{Mode: "realtime", Record: "r.wav", DeviceReport: &DeviceReport{FirstXrunS: &f, RealtimePriorityError: "no"},
			Probes: NewProbes([]Probe{{0, 10}, {5, 20}}, rate)}, dev},
	} {
		b, err := c.r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := topKeys(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if strings.Join(sorted(keys), " ") != strings.Join(sorted(c.keys), " ") {
			t.Errorf("%s mode keys\n%v\nwant\n%v", c.r.Mode, sorted(keys), sorted(c.keys))
		}
	}
}

// TestMeasureProbes: clicks delayed by a known lag in a sine are found at that lag, and clicks
// too close to the end are skipped.
func TestMeasureProbes(t *testing.T) {
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: rate, ClickEvery: 3000, ClickAmp: 0.5}
	in32 := make([]float32, 12000)
	sine.Fill(in32)
	in := make([]float64, len(in32))
	for i, v := range in32 {
		in[i] = float64(v)
	}
	const lag = 1001
	out := append(make([]float64, lag), in[:len(in)-lag]...)
	probes := MeasureProbes(in, out, sine, lag, 512)
	// Clicks at 1500, 4500, 7500, 10500; the last one's search window passes the end of out.
	if len(probes) != 3 {
		t.Fatalf("%d probes, want 3: %v", len(probes), probes)
	}
	for i, p := range probes {
		if click := 1500 + 3000*i; p.Out-p.In != lag || p.In < click-probeSmooth-1 || p.In > click+probeSmooth+1 {
			t.Errorf("probe %d: %+v, want the click at %d, %d later", i, p, click, lag)
		}
	}
	s := NewProbes(probes, rate)
	if s.Count != 3 || s.MeasuredLatencySpreadMS != 0 || s.MeasuredLatencyMS != samplesMS(lag, rate) {
		t.Errorf("summary %+v", s)
	}
	if NewProbes(nil, rate) != nil {
		t.Error("no probes: want nil")
	}
}

// discard is a Writer that counts.
type discard struct{ n int64 }

func (d *discard) Write(block [][]float64) error { d.n += int64(len(block[0])); return nil }

// TestRunDeviceStopsWhenOverloaded: a worker slower than its device (here 4000 iterations per
// hop, so the input ring never runs dry) still stops when its context is cancelled. The loop once
// looked at the context only while waiting for input, so an overloaded live run ignored SIGINT.
func TestRunDeviceStopsWhenOverloaded(t *testing.T) {
	cfg := engineConfig()
	cfg.ItersPerHop = 4000
	d := newFakeDevice(1<<12, false, &device.Sine{Freq: 440, Amp: 0.25, Rate: rate})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	stopper := sinkFunc(func(b []float32) error {
		if n.Add(int64(len(b))) >= 1024 {
			cancel()
		}
		return nil
	})
	r, err := Run(ctx, Config{Engine: cfg, Device: d, Sinks: []Sink{stopper}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted {
		t.Errorf("not interrupted after %d samples to the sink", n.Load())
	}
}
