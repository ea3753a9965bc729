package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/rephase/rephase/stream/device"
	"github.com/rephase/rephase/stream/effect"
	"github.com/rephase/rephase/stream/live"
	"github.com/rephase/rephase/stream/wav"
)

// runLive is the vocoder: an input (device, WAV file or sine) → analysis → effects → streaming
// engine → an output (device or WAV file), through PortAudio whenever a device is involved.
func runLive(args []string) error {
	fs := newFlagSet("live", "live [--input DEVICE|FILE.wav|sine:FREQ] [--output DEVICE|FILE.wav] [--effect SPEC]... [options]",
		"Real-time resynthesis: input → STFT magnitudes → effects → phase reconstruction → output, with a\n"+
			"fixed latency. A device is a PortAudio device name, index or \"default\" (see --list-devices).\n"+
			"sine:FREQ carries a click every --click-every, whose arrival in the output measures the end-to-end\n"+
			"latency. With a file input and a file output it runs offline (and --effect stretch is allowed).\n"+
			"SIGINT/SIGTERM stop the run, drain the engine and finalise the WAV files.")
	input := fs.StringP("input", "i", "default", "audio source: DEVICE | FILE.wav | sine:FREQ (a sine of FREQ Hz)")
	output := fs.StringP("output", "o", "default", "audio sink: DEVICE | FILE.wav (- for stdout)")
	hostAPI := fs.String("host-api", "", "restrict device selection to a PortAudio host `API`, by name or index (e.g. jack, alsa, 0)")
	list := fs.Bool("list-devices", false, "list the audio devices and exit (status 1 when there are none: no sound card or audio server)")
	effects := fs.StringArray("effect", nil, "magnitude effect, repeatable, applied in order: "+effect.Syntax)
	duration := fs.Duration("duration", 0, "stop after this much input audio (0: at the end of a file input, or on SIGINT)")
	record := fs.String("record", "", "also record the output to this WAV `FILE` (- for stdout)")
	sr := fs.Int("sr", 0, "sample rate in Hz (0: the input file's, else the device's default, else 48000)")
	buffer := fs.Int("buffer", 256, "device buffer (frames per callback)")
	prefill := fs.Int("prefill", 0, "output buffering in samples ahead of the first block (0: 3·max(buffer, hop))")
	clickEvery := fs.Duration("click-every", time.Second, "sine input: a latency probe click this often (0: none)")
	quiet := fs.Bool("quiet", false, "no status line")
	rtPriority := fs.Int("rt-priority", 0, "run the worker thread with SCHED_FIFO at this priority (1–99; 0: normal scheduling). Keep it below the audio server's own threads")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	ef.bottleneck(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
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
		for _, e := range *effects {
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
		// ALSA and JACK print dozens of lines to fd 2 while PortAudio probes them.
		if err := device.Silenced(device.Init); err != nil {
			return err
		}
		defer device.Terminate()
	}
	if *list {
		ds, err := device.List()
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return errors.New("live: no audio devices: no audio server (JACK, PulseAudio, PipeWire) is running and " +
				"ALSA finds no sound card. Start one, e.g. a JACK server without hardware: jackd -d dummy &  " +
				"(or pulseaudio --start, or systemctl --user start pipewire pipewire-pulse)")
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
	// sine:FREQ is a sine with a latency-probe click every --click-every.
	newSine := func(rate int) *device.Sine {
		return &device.Sine{Freq: sineHz, Amp: 0.25, Rate: float64(rate), ClickEvery: int(clickEvery.Seconds() * float64(rate)), ClickAmp: 0.5}
	}
	var cfg live.Config
	var kept collect // an offline run's output, written whole at the end
	if inDevice || outDevice {
		dcfg := device.Config{HostAPI: *hostAPI, SampleRate: float64(rate), FramesPerBuffer: *buffer}
		if inDevice {
			dcfg.Input = *input
		}
		if outDevice {
			dcfg.Output = *output
		}
		if !inDevice && outDevice {
			if rate == 0 {
				d, err := device.Find(*output, *hostAPI, device.Output)
				if err != nil {
					return inputError{err}
				}
				rate = int(d.DefaultSampleRate)
				dcfg.SampleRate = float64(rate)
			}
			if sineHz > 0 {
				sine := newSine(rate)
				dcfg.Source, cfg.Probe = sine, sine
			} else {
				cfg.Source = &device.Samples{Data: make([]float32, len(src))}
				for i, v := range src {
					cfg.Source.Data[i] = float32(v)
				}
				dcfg.Source = cfg.Source
			}
		}
		dev, err := device.Open(dcfg)
		if err != nil {
			return inputError{err}
		}
		defer dev.Close()
		rate = int(dev.SampleRate())
		cfg.Device, cfg.Prefill, cfg.RealtimePriority = dev, *prefill, *rtPriority
	} else {
		// No device: offline, file (or sine) to file.
		if rate == 0 {
			rate = 48000
		}
		if sineHz > 0 {
			if *duration <= 0 {
				return badInput("live: a sine input to a file output needs --duration")
			}
			sine := newSine(rate)
			buf := make([]float32, int(duration.Seconds()*float64(rate)))
			sine.Fill(buf)
			src = toFloat64(buf)
			cfg.Probe = sine // IsClick does not depend on the samples filled
		}
		cfg.Input, cfg.Sinks = src, []live.Sink{&kept}
	}
	cfg.MaxSamples = int(duration.Seconds() * float64(rate))
	stft, err := sf.config()
	if err != nil {
		return inputError{err}
	}
	if cfg.Engine, err = ef.config(stft, rate, cfg.Device != nil); err != nil {
		return inputError{err}
	}
	frameRate := effect.FixedFrameRate // a device clock
	if cfg.Device == nil {
		frameRate = effect.FreeFrameRate
	}
	if cfg.Effects, err = effect.NewChain(*effects, stft, float64(rate), frameRate); err != nil {
		return inputError{err}
	}
	// With a device the output file and the recording are written as the run goes.
	var recs []*wav.Recorder
	defer func() {
		for _, r := range recs {
			r.Close() // idempotent: finalises what was written if the run failed
		}
	}()
	if cfg.Device != nil {
		paths := []string{*record}
		if !outDevice {
			paths = append(paths, *output)
		}
		for _, path := range paths {
			if path != "" {
				r, err := wav.Create(path, rate, 1, wav.Float32)
				if err != nil {
					return err
				}
				recs = append(recs, r)
				cfg.Sinks = append(cfg.Sinks, r)
			}
		}
		if !*quiet && !*ef.asJSON && term.IsTerminal(int(os.Stderr.Fd())) {
			cfg.Status = printLiveStatus
		}
	}
	ctx, stop := interruptContext()
	defer stop()
	r, err := live.Run(ctx, cfg)
	if cfg.Status != nil {
		fmt.Fprintln(os.Stderr) // ends the status line
	}
	if err != nil {
		var ie *live.InputError
		if errors.As(err, &ie) {
			return inputError{err}
		}
		return err
	}
	for _, rec := range recs {
		if err := rec.Close(); err != nil {
			return err
		}
	}
	if cfg.Device == nil {
		for _, path := range []string{*output, *record} {
			if path != "" {
				if err := wav.Write(path, rate, [][]float64{kept.y}, wav.Float32); err != nil {
					return err
				}
			}
		}
	}
	r.Input, r.Output = *input, *output
	if cfg.Device != nil {
		r.Record = *record
	}
	return printLiveReport(r, *ef.asJSON)
}

// collect is a live.Sink that keeps the output.
type collect struct{ y []float64 }

func (c *collect) Write(b []float32) error {
	for _, v := range b {
		c.y = append(c.y, float64(v))
	}
	return nil
}

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, s := range v {
		out[i] = float64(s)
	}
	return out
}

// printLiveStatus refreshes the one-line status on stderr.
func printLiveStatus(s live.Status) {
	fmt.Fprintf(os.Stderr, "\r%7.1f s  latency %.1f ms  load %3.0f%%  p99 %.2f ms  xruns %d  dropped %d ",
		s.Seconds, s.LatencyMS, 100*s.Load, s.P99MS, s.Xruns, s.Dropped)
}

func printLiveReport(r live.Report, asJSON bool) error {
	if asJSON {
		return writeJSON(os.Stdout, r)
	}
	fmt.Printf("%s → %s (%s), effects: %s\n", r.Input, r.Output, r.Mode, r.Effects)
	var pacing *devicePacing
	if d := r.DeviceReport; d != nil {
		pacing = &devicePacing{d.Xruns, d.InputDropped}
	}
	printReport(os.Stdout, &r.EngineReport, nil, pacing)
	if d := r.DeviceReport; d != nil {
		fmt.Printf("latency: file delay (n_fft + ℓ·hop − hop) %.2f ms + buffering %.2f ms = %.2f ms (%v samples); devices add %.2f ms in, %.2f ms out (PortAudio's estimate)\n",
			r.FileDelayMS, d.BufferLatencyMS, r.LatencyMS, r.LatencySamples, d.DeviceLatencyMS.Input, d.DeviceLatencyMS.Output)
		fmt.Printf("%v callbacks, %v xrun frames, %v input samples dropped, load %.0f%%\n",
			d.Callbacks, d.XrunFrames, d.InputDropped, 100*d.Load)
		if d.FirstXrunS != nil {
			fmt.Printf("first xrun at %.3f s\n", *d.FirstXrunS)
		}
	}
	if p := r.Probes; p != nil {
		fmt.Printf("measured end-to-end latency %.2f ms over %v probes (spread %.3f ms)\n", p.MeasuredLatencyMS, p.Count, p.MeasuredLatencySpreadMS)
	}
	if r.Interrupted {
		fmt.Println("interrupted: engine drained, files finalised")
	}
	return nil
}
