// Package live runs the streaming vocoder (analysis → effects → engine, stream.Pipeline) in real
// time: Run drives it from an audio device's rings (stream/device, ringbuffer), or offline over a
// signal, Stream resynthesises a multi-channel file, optionally paced through rings at the
// sample rate as a device would pace it, and StreamMulti several files at once (docs/design.md,
// "Data path"); the channels of Stream and StreamMulti are the streams of a stream.MultiPipeline
// on a stream.Pool. cmd/rephase's live and stream commands are flag parsing around these
// functions.
//
// The worker is the calling goroutine. Per hop it copies one hop of float32 samples out of the
// input ring, converts them to float64, runs the pipeline and converts its output back into the
// output ring and the sinks; none of this allocates (TestWorkerHopDoesNotAllocate). The audio
// callback on the other side of the rings only copies (see stream/device).
//
// A minimal live vocoder, a microphone pitched up an octave to the speakers:
//
//	device.Init()
//	defer device.Terminate()
//	dev, _ := device.Open(device.Config{Input: "default", Output: "default"})
//	defer dev.Close()
//	stft, _ := retrieval.Config{NFFT: 512, Framing: retrieval.Full}.Resolve()
//	chain, _ := effect.NewChain([]string{"pitch:+12"}, stft, dev.SampleRate(), effect.FixedFrameRate)
//	ec := stream.DefaultConfig()
//	ec.STFT, ec.Budget = stft, stream.DefaultRealtimeBudget
//	rep, err := live.Run(ctx, live.Config{Engine: ec, Effects: chain, Device: dev})
package live

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rephase/rephase/ringbuffer"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
	"github.com/rephase/rephase/stream/effect"
)

// Block is the number of samples per channel that offline runs and Stream process at a time
// (between two checks of the context).
const Block = 4096

// Device is the audio stream Run works against: two rings of mono float32 samples that an audio
// callback fills (Input) and drains (Output), and the stream's controls and counters.
// *device.Stream implements it.
type Device interface {
	Input() *ringbuffer.Consumer
	Output() *ringbuffer.Producer
	// HasOutput reports whether something drains Output (an output device).
	HasOutput() bool
	Start() error
	Prime()
	EndOfStream()
	Stop() error
	SampleRate() float64
	FramesPerBuffer() int
	Description() string
	DeviceLatency() (in, out time.Duration)
	Stats() device.Stats
}

// Sink receives the output as it is produced: mono float32 blocks, valid during the call only
// (wav.Recorder implements it).
type Sink interface {
	Write(samples []float32) error
}

// Config describes a run of the live vocoder.
type Config struct {
	// Engine is the analysis and engine configuration: STFT (Full framing), SampleRate,
	// optimizer, Budget (stream.DefaultRealtimeBudget suits a device). With a Device, SampleRate
	// is set to the device's.
	Engine stream.Config
	// Effects is the magnitude effect chain between the analysis and the engine (nil: none). A
	// chain with a time stretch runs offline only.
	Effects *effect.Chain
	// Device is the opened, not started, stream to run against; nil runs offline over Input.
	Device Device
	// Input is the signal of an offline run: mono samples at Engine.SampleRate Hz.
	Input []float64
	// Source, with a Device, is the buffer the device plays as its input (its Config.Source):
	// the run ends once it has been played and its output has come out.
	Source *device.Samples
	// Probe, if not nil, tells which input samples carry a latency-probe click (the device.Sine
	// that is the input): Run measures when each click comes out (Report.Probes). Offline, and
	// with an output device, whose output is kept for the measure (at most ten minutes).
	Probe Clicks
	// MaxSamples stops the run after this many input samples (0: at the end of the input, or
	// when ctx is cancelled).
	MaxSamples int
	// Prefill is the silence (samples) written to the output ring before the first block, the
	// output buffering (0: 3·max(frames per buffer, hop)). Output devices only.
	Prefill int
	// Sinks receive every output sample, the prefill included (files, recordings).
	Sinks []Sink
	// RealtimePriority, if > 0, runs the worker (the calling goroutine, pinned to its thread)
	// with SCHED_FIFO at this priority, 1–99 (device.LockRealtime). A refusal is reported, not
	// an error.
	RealtimePriority int
	// Status, if not nil, is called by the worker about every 250 ms with the running figures.
	// It must return quickly.
	Status func(Status)
}

// Status is a run's progress, for a status line.
type Status struct {
	Seconds   float64 // input audio processed
	LatencyMS float64 // file delay + output buffering
	Load      float64 // engine compute time per second of audio
	P99MS     float64 // 99th percentile of the per-frame compute time
	Xruns     uint64
	Dropped   uint64 // input samples dropped
}

// InputError is Run's and Stream's error for what the caller gave them: a configuration they
// cannot run (the engine's, the analysis's, a stretch with a device) or an input that cannot be
// read; as opposed to a failure of the output, the device or the machine.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// maxKeep bounds the audio kept for the probe measure: ten minutes at rate Hz.
func maxKeep(rate int) int { return 600 * rate }

// Run runs the vocoder until the end of the input (Input offline; Source, or MaxSamples, with a
// Device) or ctx's cancellation, then drains it: the engine's tail is delivered, and with an
// output device (not interrupted) what the ring holds is played. With a Device, Run starts and
// stops it; the caller opens and closes it, and closes the sinks. Errors are an *InputError
// before anything runs, else those of the engine, a sink or the device.
//
// The output is not latency-compensated: it is the engine's stream as it leaves a real-time loop,
// the file delay's leading zeros included, and FileDelay samples longer than the input read
// (stream.Pipeline without compensation; with a time stretch, every frame the stretch made and
// the engine's tail). Offline runs go as fast as the engine does, Block samples between checks
// of ctx; with a Device the input is read in whole hops, so MaxSamples is rounded up to one.
//
// Run allocates the analysis, the engine and the worker's buffers (with a Probe and a bounded
// input, the records for the measure too); a hop allocates nothing. Call it from one goroutine
// per Device: that goroutine is the worker, and Status and the sinks are called on it.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Device != nil {
		cfg.Engine.SampleRate = int(cfg.Device.SampleRate())
	}
	stretch, effects := 1.0, "none"
	if cfg.Effects != nil {
		stretch, effects = cfg.Effects.Stretch(), cfg.Effects.String()
	}
	if cfg.Device != nil && stretch != 1 {
		return Report{}, &InputError{fmt.Errorf("live: effects %s: time stretch changes the frame rate, so it runs offline only (no device)", effects)}
	}
	p, closeAll, err := newPipeline(cfg.Engine, stream.Delayed)
	if err != nil {
		return Report{}, err
	}
	defer closeAll()
	if cfg.Effects != nil {
		p.SetEffects(cfg.Effects)
	}
	var r Report
	if cfg.Device == nil {
		r, err = runOffline(ctx, p, cfg)
		r.Mode, r.Stretch = "file", stretch
	} else {
		r, err = runDevice(ctx, p, cfg)
		r.Mode = "realtime"
	}
	r.Effects = effects
	return r, err
}

// newPipeline builds an analysis and an engine for c, wired by a stream.Pipeline of alignment
// align; closeAll releases both.
func newPipeline(c stream.Config, align stream.Alignment) (p *stream.Pipeline, closeAll func(), err error) {
	if c, err = c.Resolve(); err != nil {
		return nil, nil, &InputError{err}
	}
	an, err := stream.NewAnalyzer(c.STFT)
	if err != nil {
		return nil, nil, &InputError{err}
	}
	e, err := stream.NewEngine(c)
	if err != nil {
		an.Close()
		return nil, nil, &InputError{err}
	}
	closeAll = func() { an.Close(); e.Close() }
	if p, err = stream.NewPipeline(e, an, align); err != nil {
		closeAll()
		return nil, nil, &InputError{err}
	}
	return p, closeAll, nil
}

// runOffline runs the pipeline over cfg.Input, Block samples at a time.
func runOffline(ctx context.Context, p *stream.Pipeline, cfg Config) (Report, error) {
	e := p.Engine()
	rate := cfg.Engine.SampleRate
	src := cfg.Input
	if cfg.MaxSamples > 0 {
		src = src[:min(len(src), cfg.MaxSamples)]
	}
	var out []float64 // kept for the probes
	keep := cfg.Probe != nil
	out32 := make([]float32, Block)
	emit := func(y []float64) error {
		if keep {
			out = append(out, y...)
		}
		return writeSinks(cfg.Sinks, out32, y)
	}
	start := time.Now()
	consumed := 0
	for consumed < len(src) && ctx.Err() == nil {
		n := min(len(src)-consumed, Block)
		if err := p.Write(src[consumed:consumed+n], emit); err != nil {
			return Report{}, err
		}
		consumed += n
	}
	if err := p.Flush(emit); err != nil {
		return Report{}, err
	}
	secs := time.Since(start).Seconds()
	r := Report{EngineReport: NewEngineReport(e, float64(consumed)/float64(rate), secs), Seconds: secs,
		Interrupted: consumed < len(src)}
	if keep && (cfg.Effects == nil || cfg.Effects.Stretch() == 1) {
		r.Probes = NewProbes(MeasureProbes(src[:consumed], out, cfg.Probe, e.Latency().FileDelay, e.Config().STFT.NFFT), rate)
	}
	return r, nil
}

// writeSinks converts y to float32 through scratch, a block at a time, and writes it to every
// sink.
func writeSinks(sinks []Sink, scratch []float32, y []float64) error {
	for len(sinks) > 0 && len(y) > 0 {
		n := copy32(scratch, y)
		for _, s := range sinks {
			if err := s.Write(scratch[:n]); err != nil {
				return err
			}
		}
		y = y[n:]
	}
	return nil
}

// copy32 converts as many samples as fit from src into dst and returns their number.
func copy32(dst []float32, src []float64) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = float32(src[i])
	}
	return n
}

// worker is the device loop's per-hop state: one hop of input from the ring through the
// pipeline into the output ring and the sinks, with the sequences kept for the probes.
type worker struct {
	p      *stream.Pipeline
	dev    Device
	sinks  []Sink
	hasOut bool
	in32   []float32
	in64   []float64
	out32  []float32
	emit   func([]float64) error // w.write, made once
	// The probes' records, each at most limit samples: the input as the worker saw it, and the
	// output as the device plays it (prefill included; output devices only).
	keepIn, keepPlayed bool
	inSeq              []float64
	played             []float32
	limit              int
	overflow           uint64 // output samples the output ring had no room for
}

// newWorker makes the worker's buffers; with a probe and expectIn > 0 (the input's length, when
// bounded) the records are allocated whole, since growing them while running would stall the
// worker for milliseconds.
func newWorker(p *stream.Pipeline, dev Device, cfg Config, hop, expectIn, prefill int) *worker {
	w := &worker{p: p, dev: dev, sinks: cfg.Sinks, hasOut: dev.HasOutput(), in32: make([]float32, hop),
		in64: make([]float64, hop), out32: make([]float32, 1<<16), limit: maxKeep(cfg.Engine.SampleRate)}
	if cfg.Probe != nil {
		w.keepIn, w.keepPlayed = true, w.hasOut
		if expectIn > 0 {
			w.inSeq = make([]float64, 0, min(w.limit, expectIn))
			if w.keepPlayed {
				w.played = make([]float32, 0, min(w.limit, expectIn+prefill+p.Engine().Latency().FileDelay))
			}
		}
	}
	w.emit = w.write
	return w
}

// write delivers output samples to the output ring (counting what does not fit), the probes'
// record and the sinks.
func (w *worker) write(y []float64) error {
	for len(y) > 0 {
		n := copy32(w.out32, y)
		b := w.out32[:n]
		y = y[n:]
		if w.hasOut {
			if k := w.dev.Output().Write(b); k < n {
				w.overflow += uint64(n - k)
			}
			if w.keepPlayed && len(w.played)+n <= w.limit {
				w.played = append(w.played, b...)
			}
		}
		for _, s := range w.sinks {
			if err := s.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// step reads one hop from the input ring (which must hold it) and runs it through the pipeline.
func (w *worker) step() error {
	w.dev.Input().Read(w.in32)
	for i, s := range w.in32 {
		w.in64[i] = float64(s)
	}
	if w.keepIn && len(w.inSeq) < w.limit {
		w.inSeq = append(w.inSeq, w.in64...)
	}
	return w.p.Write(w.in64, w.emit)
}

// runDevice is Run with a Device: the worker polls the input ring a hop at a time.
func runDevice(ctx context.Context, p *stream.Pipeline, cfg Config) (Report, error) {
	d := cfg.Device
	e := p.Engine()
	hop, rate := e.Hop(), cfg.Engine.SampleRate
	lat := e.Latency()
	prefill := cfg.Prefill
	if prefill == 0 {
		prefill = 3 * max(d.FramesPerBuffer(), hop)
	}
	expected := 0 // input samples, when bounded: the buffers for the probes are made this large
	if cfg.MaxSamples > 0 {
		expected = cfg.MaxSamples + rate
	} else if cfg.Source != nil {
		expected = len(cfg.Source.Data) + lat.FileDelay + rate
	}
	if !d.HasOutput() {
		prefill = 0 // nothing is played: the output goes to the sinks as it comes
	}
	w := newWorker(p, d, cfg, hop, expected, prefill)
	if err := w.write(make([]float64, prefill)); err != nil {
		return Report{}, err
	}
	period := time.Duration(float64(hop) / float64(rate) / 4 * float64(time.Second))
	var rtErr error
	if cfg.RealtimePriority > 0 {
		rtErr = device.LockRealtime(cfg.RealtimePriority)
		defer device.UnlockRealtime()
	}
	if err := d.Start(); err != nil {
		return Report{}, err
	}
	d.Prime()
	start := time.Now()
	lastStatus := start
	consumed := 0
	interrupted := false
	src := cfg.Source
	played := false // the source was found played out and the ring empty
loop:
	for cfg.MaxSamples == 0 || consumed < cfg.MaxSamples {
		// Checked every hop, not only while waiting for input: a worker slower than the device
		// (overload, or the race detector) never waits, and must still stop when told.
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		for d.Input().Available() < hop {
			if ctx.Err() != nil {
				interrupted = true
				break loop
			}
			if src != nil && src.Done() && d.Input().Available() == 0 {
				if played {
					break loop
				}
				played = true // the callback writes the last samples it took just after: look once more
			}
			time.Sleep(period)
		}
		if err := w.step(); err != nil {
			d.Stop()
			return Report{}, err
		}
		consumed += hop
		if src != nil && consumed >= len(src.Data)+lat.FileDelay {
			break
		}
		if cfg.Status != nil && time.Since(lastStatus) > 250*time.Millisecond {
			lastStatus = time.Now()
			cfg.Status(status(d, e, consumed, prefill))
		}
	}
	// Drain: the engine's tail, then let the device play what is buffered.
	if err := p.Flush(w.emit); err != nil {
		d.Stop()
		return Report{}, err
	}
	d.EndOfStream()
	if w.hasOut && !interrupted {
		wait := time.Now().Add(time.Duration(float64(d.Output().Cap())/float64(rate)*float64(time.Second)) + time.Second)
		for d.Output().Free() < d.Output().Cap() && time.Now().Before(wait) {
			time.Sleep(period)
		}
	}
	if err := d.Stop(); err != nil {
		return Report{}, err
	}
	wall := time.Since(start).Seconds()
	audio := float64(consumed) / float64(rate)
	st := d.Stats()
	inLat, outLat := d.DeviceLatency()
	r := Report{EngineReport: NewEngineReport(e, audio, e.Stats().Total.Seconds()), Seconds: wall, Interrupted: interrupted}
	// Total latency, devices excluded: the file delay (n_fft + ℓ·hop − hop) plus the output
	// prefill, which does the work of the hop of block buffering in n_fft + ℓ·hop.
	r.LatencyMS, r.LatencySamples = samplesMS(lat.FileDelay+prefill, rate), lat.FileDelay+prefill
	dr := &DeviceReport{Devices: d.Description(), AudioSeconds: audio,
		Load:            e.Stats().Total.Seconds() / math.Max(audio, 1e-12),
		BufferLatencyMS: samplesMS(prefill, rate), BufferLatencySamples: prefill,
		DeviceLatencyMS: InOut{ms(inLat), ms(outLat)}, FramesPerBuffer: d.FramesPerBuffer(),
		Callbacks: st.Callbacks, Xruns: st.Xruns, XrunFrames: st.XrunFrames,
		InputDropped: st.InputDropped, OutputRingOverflow: w.overflow,
		PortAudioFlags: PAFlags{st.PAInputUnderflow, st.PAInputOverflow, st.PAOutputUnderflow, st.PAOutputOverflow},
		CPULoad:        st.CPULoad, RealtimePriority: cfg.RealtimePriority > 0 && rtErr == nil}
	if st.Xruns > 0 {
		f := float64(st.FirstXrunFrame) / float64(rate)
		dr.FirstXrunS = &f
	}
	if rtErr != nil {
		dr.RealtimePriorityError = rtErr.Error()
	}
	r.DeviceReport = dr
	if w.keepPlayed {
		r.Probes = NewProbes(MeasureProbes(w.inSeq, float64s(w.played), cfg.Probe, lat.FileDelay+prefill, e.Config().STFT.NFFT), rate)
	}
	return r, nil
}

// status is the running figures of a device run.
func status(d Device, e *stream.Engine, consumed, prefill int) Status {
	st := d.Stats()
	es := e.Stats()
	rate := e.Config().SampleRate
	secs := float64(consumed) / float64(rate)
	return Status{Seconds: secs, LatencyMS: samplesMS(e.Latency().FileDelay+prefill, rate),
		Load: es.Total.Seconds() / math.Max(secs, 1e-9), P99MS: ms(es.Percentile(99)), Xruns: st.Xruns, Dropped: st.InputDropped}
}

// float64s converts v.
func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, s := range v {
		out[i] = float64(s)
	}
	return out
}
