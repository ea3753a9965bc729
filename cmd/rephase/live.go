package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
	"github.com/rephase/rephase/stream/effect"
	"github.com/rephase/rephase/stream/wav"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// runLive is the vocoder: an input (device, WAV file or sine) → analysis → effects → streaming
// engine → an output (device or WAV file), through PortAudio whenever a device is involved.
func runLive(args []string) error {
	fs := flag.NewFlagSet("live", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rephase live [--input DEVICE|FILE.wav|sine:FREQ] [--output DEVICE|FILE.wav] [--effect SPEC]... [options]\n\n"+
			"Real-time resynthesis: input → STFT magnitudes → effects → phase reconstruction → output, with a\n"+
			"fixed latency. A device is a PortAudio device name, index or \"default\" (see --list-devices).\n"+
			"sine:FREQ carries a click every --click-every, whose arrival in the output measures the end-to-end\n"+
			"latency. With a file input and a file output it runs offline (and --effect stretch is allowed).\n"+
			"SIGINT/SIGTERM stop the run, drain the engine and finalise the WAV files.\n\n")
		fs.PrintDefaults()
	}
	input := fs.String("input", "default", "DEVICE | FILE.wav | sine:FREQ")
	output := fs.String("output", "default", "DEVICE | FILE.wav")
	hostAPI := fs.String("host-api", "", "restrict device selection to a PortAudio host API, by name or index (e.g. jack, alsa, 0)")
	list := fs.Bool("list-devices", false, "list the audio devices and exit")
	var effects multiFlag
	fs.Var(&effects, "effect", "magnitude effect, repeatable, applied in order: "+effect.Syntax)
	duration := fs.Duration("duration", 0, "stop after this much input audio (0: at the end of a file input, or on SIGINT)")
	record := fs.String("record", "", "also record the output to this WAV file")
	sr := fs.Int("sr", 0, "sample rate in Hz (0: the input file's, else the device's default, else 48000)")
	buffer := fs.Int("buffer", 256, "device buffer (frames per callback)")
	prefill := fs.Int("prefill", 0, "output buffering in samples ahead of the first block (0: 3·max(buffer, hop))")
	clickEvery := fs.Duration("click-every", time.Second, "sine input: a latency probe click this often (0: none)")
	quiet := fs.Bool("quiet", false, "no status line")
	rtPriority := fs.Int("rt-priority", 0, "run the worker thread with SCHED_FIFO at this priority (1–99; 0: normal scheduling). Keep it below the audio server's own threads")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	if err := fs.Parse(args); err != nil {
		return inputError{err}
	}
	if fs.NArg() > 0 {
		return badInput("live: unexpected argument %q (use --input)", fs.Arg(0))
	}
	isWAV := func(s string) bool { // a file (or "-": standard input or output), not a device
		s = strings.ToLower(s)
		return s == "-" || strings.HasSuffix(s, ".wav") || strings.HasSuffix(s, ".flac")
	}
	var sineHz float64
	if f, ok := strings.CutPrefix(*input, "sine:"); ok {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) {
			return badInput("live: --input %q: want sine:FREQ with FREQ > 0 Hz", *input)
		}
		sineHz = v
	}
	inDevice := sineHz == 0 && !isWAV(*input)
	outDevice := !isWAV(*output)
	if inDevice || outDevice {
		for _, e := range effects {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(e)), "stretch") {
				return badInput("live: effect %q: time stretch changes the frame rate, so it runs in file mode only (file input and file output)", e)
			}
		}
	}
	for flag, o := range map[string]string{"--output": *output, "--record": *record} {
		if o != "" && !(flag == "--output" && outDevice) {
			if err := checkOutput(flag, o, *input); err != nil {
				return err
			}
		}
	}
	if *list || inDevice || outDevice {
		os.Setenv("JACK_NO_START_SERVER", "1") // never spawn a server behind the user's back
		if err := device.Init(); err != nil {
			return err
		}
		defer device.Terminate()
	}
	if *list {
		ds, err := device.List()
		if err != nil {
			return err
		}
		device.FormatList(os.Stdout, ds)
		return nil
	}

	if *sr != 0 {
		if err := wav.CheckSampleRate(*sr); err != nil {
			return badInput("live: --sr: %v", err)
		}
	}
	// The input signal for file and sine inputs.
	var src []float64
	rate := *sr
	if isWAV(*input) {
		a, err := readSignal(*input)
		if err != nil {
			return err
		}
		src = mono(a)
		if rate != 0 && rate != a.SampleRate {
			return badInput("live: %s is at %d Hz, --sr %d (resample it first)", *input, a.SampleRate, rate)
		}
		rate = a.SampleRate
	}
	var dev *device.Stream
	if inDevice || outDevice {
		var err error
		cfg := device.Config{HostAPI: *hostAPI, SampleRate: float64(rate), FramesPerBuffer: *buffer}
		if inDevice {
			cfg.Input = *input
		}
		if outDevice {
			cfg.Output = *output
		}
		var sine *device.Sine
		var samples *device.Samples
		if !inDevice && outDevice {
			if rate == 0 {
				d, err := device.Find(*output, *hostAPI, true)
				if err != nil {
					return inputError{err}
				}
				rate = int(d.DefaultSampleRate)
				cfg.SampleRate = float64(rate)
			}
			if sineHz > 0 {
				sine = &device.Sine{Freq: sineHz, Amp: 0.25, Rate: float64(rate), ClickEvery: int(clickEvery.Seconds() * float64(rate)), ClickAmp: 0.5}
				cfg.Source = sine
			} else {
				samples = &device.Samples{Data: make([]float32, len(src))}
				copy32(samples.Data, src)
				cfg.Source = samples
			}
		}
		if dev, err = device.Open(cfg); err != nil {
			return inputError{err}
		}
		defer dev.Close()
		rate = int(dev.SampleRate())
		return liveRealtime(dev, sine, samples, rate, liveOptions{effects: effects, duration: *duration, record: *record,
			output: *output, outDevice: outDevice, input: *input, prefill: *prefill, quiet: *quiet, rtPriority: *rtPriority, sf: sf, ef: ef})
	}
	// No device: offline, file (or sine) to file.
	if rate == 0 {
		rate = 48000
	}
	var sine *device.Sine
	if sineHz > 0 {
		if *duration <= 0 {
			return badInput("live: a sine input to a file output needs --duration")
		}
		sine = &device.Sine{Freq: sineHz, Amp: 0.25, Rate: float64(rate), ClickEvery: int(clickEvery.Seconds() * float64(rate)), ClickAmp: 0.5}
		buf := make([]float32, int(duration.Seconds()*float64(rate)))
		sine.Fill(buf)
		src = make([]float64, len(buf))
		for i, v := range buf {
			src[i] = float64(v)
		}
		sine = &device.Sine{Freq: sineHz, Rate: float64(rate), ClickEvery: sine.ClickEvery} // for IsClick
	} else if *duration > 0 {
		src = src[:min(len(src), int(duration.Seconds()*float64(rate)))]
	}
	return liveFile(src, sine, rate, liveOptions{effects: effects, record: *record, output: *output, input: *input, sf: sf, ef: ef})
}

type liveOptions struct {
	effects        []string
	duration       time.Duration
	record, output string
	input          string
	outDevice      bool
	prefill        int
	quiet          bool
	rtPriority     int
	sf             *stftFlags
	ef             *engineFlags
}

// newLiveVocoder builds analysis, effects and engine for rate Hz.
func newLiveVocoder(o liveOptions, rate int, allowStretch bool) (*effect.Vocoder, *effect.Chain, func(), error) {
	stft, err := o.sf.config()
	if err != nil {
		return nil, nil, nil, inputError{err}
	}
	cfg, err := o.ef.config(stft, rate, !allowStretch)
	if err != nil {
		return nil, nil, nil, inputError{err}
	}
	chain, err := effect.NewChain(o.effects, stft, float64(rate), allowStretch)
	if err != nil {
		return nil, nil, nil, inputError{err}
	}
	an, err := stream.NewAnalyzer(stft)
	if err != nil {
		return nil, nil, nil, inputError{err}
	}
	eng, err := stream.NewEngine(cfg)
	if err != nil {
		an.Close()
		return nil, nil, nil, inputError{err}
	}
	return effect.NewVocoder(an, chain, eng), chain, func() { an.Close(); eng.Close() }, nil
}

// liveFile runs the vocoder offline over src and writes the output file (and the recording).
func liveFile(src []float64, probe *device.Sine, rate int, o liveOptions) error {
	v, chain, closeAll, err := newLiveVocoder(o, rate, true)
	if err != nil {
		return err
	}
	defer closeAll()
	var out []float64
	keep := func(h []float64) error { out = append(out, h...); return nil }
	ctx, stop := interruptContext()
	defer stop()
	start := time.Now()
	// Block by block, so that SIGINT/SIGTERM stop the run, drain the engine and write the output
	// of what was processed.
	consumed := 0
	for consumed < len(src) && ctx.Err() == nil {
		n := min(len(src)-consumed, streamBlock)
		if err := v.Process(src[consumed:consumed+n], keep); err != nil {
			return err
		}
		consumed += n
	}
	interrupted := consumed < len(src)
	src = src[:consumed]
	if err := v.Flush(keep); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	for _, path := range []string{o.output, o.record} {
		if path != "" {
			if err := wav.Write(path, rate, [][]float64{out}, wav.Float32); err != nil {
				return err
			}
		}
	}
	e := v.Engine()
	r := engineReport(e, rate, float64(len(src))/float64(rate), secs)
	r["mode"], r["input"], r["output"], r["effects"], r["seconds"] = "file", o.input, o.output, chain.String(), secs
	r["stretch"] = chain.Stretch()
	r["interrupted"] = interrupted
	if probe != nil && chain.Stretch() == 1 {
		addProbeReport(r, measureProbes(src, out, probe, e.Latency().FileDelay, rate, e.Config().STFT.NFFT), rate)
	}
	return finishLiveReport(r, o)
}

// liveRealtime runs the worker against a PortAudio stream until the duration, the end of a file
// source, or SIGINT/SIGTERM.
func liveRealtime(dev *device.Stream, probe *device.Sine, samples *device.Samples, rate int, o liveOptions) error {
	v, chain, closeAll, err := newLiveVocoder(o, rate, false)
	if err != nil {
		return err
	}
	defer closeAll()
	e := v.Engine()
	hop := e.Hop()
	prefill := o.prefill
	if prefill == 0 {
		prefill = 3 * max(dev.FramesPerBuffer(), hop)
	}
	var rec, outFile *wav.Recorder
	if o.record != "" {
		if rec, err = wav.Create(o.record, rate, 1, wav.Float32); err != nil {
			return err
		}
		defer rec.Close()
	}
	if !o.outDevice {
		if outFile, err = wav.Create(o.output, rate, 1, wav.Float32); err != nil {
			return err
		}
		defer outFile.Close()
	}
	// The output sequence as the device plays it (prefill included), kept for the latency probes.
	var played []float32
	keepPlayed := probe != nil && o.outDevice
	maxKeep := 600 * rate // ten minutes
	limit := int(o.duration.Seconds() * float64(rate))
	if keepPlayed && limit > 0 {
		// Grown while running, a copy of minutes of audio would stall the worker for milliseconds.
		played = make([]float32, 0, min(maxKeep, limit+prefill+rate))
	}
	out32 := make([]float32, 1<<16)
	var workerOverflow uint64
	emit := func(h []float64) error {
		for len(h) > 0 {
			n := copy32(out32, h)
			b := out32[:n]
			h = h[n:]
			if o.outDevice {
				if w := dev.Output().Write(b); w < n {
					workerOverflow += uint64(n - w)
				}
				if keepPlayed && len(played)+n <= maxKeep {
					played = append(played, b...)
				}
			} else if err := outFile.Write(b); err != nil {
				return err
			}
			if rec != nil {
				if err := rec.Write(b); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if o.outDevice {
		if err := emit(make([]float64, prefill)); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var inSeq []float64 // the input as the worker saw it, for the probes
	if probe != nil && limit > 0 {
		inSeq = make([]float64, 0, min(maxKeep, limit+rate))
	}
	in32 := make([]float32, hop)
	in64 := make([]float64, hop)
	consumed := 0
	status := !o.quiet && !*o.ef.asJSON && term.IsTerminal(int(os.Stderr.Fd()))
	lastStatus := time.Now()
	period := time.Duration(float64(hop) / float64(rate) / 4 * float64(time.Second))
	// The worker is this goroutine; with --rt-priority, pin it and ask for real-time scheduling.
	var rtErr error
	if o.rtPriority > 0 {
		rtErr = device.LockRealtime(o.rtPriority)
		defer device.UnlockRealtime()
	}
	if err := dev.Start(); err != nil {
		return err
	}
	dev.Prime()
	start := time.Now()
	interrupted := false
loop:
	for limit == 0 || consumed < limit {
		for dev.Input().Available() < hop {
			if ctx.Err() != nil {
				interrupted = true
				break loop
			}
			if samples != nil && samples.Done() && dev.Input().Available() == 0 {
				break loop
			}
			time.Sleep(period)
		}
		dev.Input().Read(in32)
		for i, s := range in32 {
			in64[i] = float64(s)
		}
		if probe != nil && len(inSeq) < maxKeep {
			inSeq = append(inSeq, in64...)
		}
		if err := v.Process(in64, emit); err != nil {
			return err
		}
		consumed += hop
		if samples != nil && consumed >= len(samples.Data)+e.Latency().FileDelay {
			break
		}
		if status && time.Since(lastStatus) > 250*time.Millisecond {
			lastStatus = time.Now()
			printLiveStatus(dev, e, rate, consumed, prefill)
		}
	}
	// Drain: the engine's tail, then let the device play what is buffered.
	if err := v.Flush(emit); err != nil {
		return err
	}
	dev.EndOfStream()
	if o.outDevice && !interrupted {
		wait := time.Now().Add(time.Duration(float64(dev.Output().Cap())/float64(rate)*float64(time.Second)) + time.Second)
		for dev.Output().Free() < dev.Output().Cap() && time.Now().Before(wait) {
			time.Sleep(period)
		}
	}
	if err := dev.Stop(); err != nil {
		return err
	}
	if status {
		fmt.Fprintln(os.Stderr)
	}
	wall := time.Since(start).Seconds()
	for _, r := range []*wav.Recorder{rec, outFile} {
		if r != nil {
			if err := r.Close(); err != nil {
				return err
			}
		}
	}
	audioSecs := float64(consumed) / float64(rate)
	r := engineReport(e, rate, audioSecs, e.Stats().Total.Seconds())
	st := dev.Stats()
	inLat, outLat := dev.DeviceLatency()
	lat := e.Latency()
	r["mode"], r["input"], r["output"], r["effects"] = "realtime", o.input, o.output, chain.String()
	r["devices"] = dev.Description()
	r["seconds"], r["audio_seconds"] = wall, audioSecs
	r["interrupted"] = interrupted
	r["load"] = e.Stats().Total.Seconds() / math.Max(audioSecs, 1e-12)
	// Total latency, devices excluded: the file delay (n_fft + ℓ·hop − hop) plus the output
	// prefill, which does the work of the hop of block buffering in n_fft + ℓ·hop.
	r["buffer_latency_ms"], r["buffer_latency_samples"] = 1000*float64(prefill)/float64(rate), prefill
	r["latency_ms"], r["latency_samples"] = 1000*float64(lat.FileDelay+prefill)/float64(rate), lat.FileDelay+prefill
	r["device_latency_ms"] = map[string]float64{"input": ms(inLat), "output": ms(outLat)}
	r["frames_per_buffer"] = dev.FramesPerBuffer()
	r["callbacks"] = st.Callbacks
	r["xruns"], r["xrun_frames"] = st.Xruns, st.XrunFrames
	if st.Xruns > 0 {
		r["first_xrun_s"] = float64(st.FirstXrunFrame) / float64(rate)
	}
	r["input_dropped"], r["output_ring_overflow"] = st.InputDropped, workerOverflow
	r["portaudio_flags"] = map[string]uint64{"input_underflow": st.PAInputUnderflow, "input_overflow": st.PAInputOverflow,
		"output_underflow": st.PAOutputUnderflow, "output_overflow": st.PAOutputOverflow}
	r["cpu_load"] = st.CPULoad
	r["realtime_priority"] = o.rtPriority > 0 && rtErr == nil
	if rtErr != nil {
		r["realtime_priority_error"] = rtErr.Error()
	}
	if keepPlayed {
		addProbeReport(r, measureProbes(inSeq, toFloat64(played), probe, lat.FileDelay+prefill, rate, e.Config().STFT.NFFT), rate)
	}
	if rec != nil {
		r["record"] = o.record
	}
	return finishLiveReport(r, o)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, s := range v {
		out[i] = float64(s)
	}
	return out
}

// printLiveStatus refreshes the one-line status on stderr.
func printLiveStatus(dev *device.Stream, e *stream.Engine, rate, consumed, prefill int) {
	st := dev.Stats()
	es := e.Stats()
	load := es.Total.Seconds() / math.Max(float64(consumed)/float64(rate), 1e-9)
	lat := 1000 * float64(e.Latency().FileDelay+prefill) / float64(rate)
	fmt.Fprintf(os.Stderr, "\r%7.1f s  latency %.1f ms  load %3.0f%%  p99 %.2f ms  xruns %d  dropped %d ",
		float64(consumed)/float64(rate), lat, 100*load, ms(es.Percentile(99)), st.Xruns, st.InputDropped)
}

// probeResult is one latency probe: where its click went in and came out (samples).
type probeResult struct{ in, out int }

// measureProbes finds each click of the probe in the output: the peak of the smoothed
// second-difference energy (which a 440 Hz sine barely has) within ±n_fft of where the expected
// latency puts it, measured by the same detector on the input, so its bias cancels.
func measureProbes(in, out []float64, probe *device.Sine, expected, rate, nfft int) []probeResult {
	detect := func(x []float64, centre int) int {
		best, at := -1.0, -1
		const smooth = 16
		for t := max(1+smooth, centre-nfft); t < min(len(x)-1-smooth, centre+nfft); t++ {
			e := 0.0
			for j := t - smooth; j <= t+smooth; j++ {
				d := x[j+1] - 2*x[j] + x[j-1]
				e += d * d
			}
			if e > best {
				best, at = e, t
			}
		}
		return at
	}
	var res []probeResult
	for i := 0; i < len(in); i++ {
		if !probe.IsClick(i) || i+expected+nfft >= len(out) {
			continue
		}
		pi, po := detect(in, i), detect(out, i+expected)
		if pi >= 0 && po >= 0 {
			res = append(res, probeResult{pi, po})
		}
	}
	return res
}

func addProbeReport(r map[string]any, probes []probeResult, rate int) {
	if len(probes) == 0 {
		return
	}
	lats := make([]float64, len(probes))
	for i, p := range probes {
		lats[i] = 1000 * float64(p.out-p.in) / float64(rate)
	}
	sorted := append([]float64(nil), lats...)
	sort.Float64s(sorted)
	r["measured_latency_ms"] = sorted[len(sorted)/2]
	r["measured_latency_spread_ms"] = sorted[len(sorted)-1] - sorted[0]
	r["probes"] = len(probes)
	r["probe_latencies_ms"] = lats
}

func finishLiveReport(r map[string]any, o liveOptions) error {
	if *o.ef.asJSON {
		return writeJSON(os.Stdout, r)
	}
	fmt.Printf("%s → %s (%s), effects: %s\n", r["input"], r["output"], r["mode"], r["effects"])
	printReport(os.Stdout, r)
	if v, ok := r["buffer_latency_ms"]; ok {
		dl := r["device_latency_ms"].(map[string]float64)
		fmt.Printf("latency: file delay (n_fft + ℓ·hop − hop) %.2f ms + buffering %.2f ms = %.2f ms (%v samples); devices add %.2f ms in, %.2f ms out (PortAudio's estimate)\n",
			r["file_delay_ms"], v, r["latency_ms"], r["latency_samples"], dl["input"], dl["output"])
		fmt.Printf("%v callbacks, %v xrun frames, %v input samples dropped, load %.0f%%\n",
			r["callbacks"], r["xrun_frames"], r["input_dropped"], 100*r["load"].(float64))
		if f, ok := r["first_xrun_s"]; ok {
			fmt.Printf("first xrun at %.3f s\n", f)
		}
	}
	if v, ok := r["measured_latency_ms"]; ok {
		fmt.Printf("measured end-to-end latency %.2f ms over %v probes (spread %.3f ms)\n", v, r["probes"], r["measured_latency_spread_ms"])
	}
	if r["interrupted"] == true {
		fmt.Println("interrupted: engine drained, files finalised")
	}
	return nil
}
