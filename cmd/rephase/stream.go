package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/rephase/rephase/internal/plots"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/framestream"
	"github.com/rephase/rephase/stream/live"
	"github.com/rephase/rephase/stream/wav"
)

// stftFlags are the analysis parameters shared by stream, analyze and synth.
type stftFlags struct {
	nfft, hop, winLength *int
	window               retrieval.Window
}

func addSTFTFlags(fs *pflag.FlagSet) *stftFlags {
	f := &stftFlags{
		nfft:      fs.Int("n-fft", 512, "n_fft (samples)"),
		hop:       fs.Int("hop", 0, "hop length (samples; 0: win_length/4)"),
		winLength: fs.Int("win-length", 0, "window length (samples; 0: n_fft)"),
	}
	fs.TextVar(&f.window, "window", retrieval.Hann, windowUsage)
	return f
}

func (f *stftFlags) config() (retrieval.Config, error) {
	if err := checkNFFT("", *f.nfft, 0); err != nil {
		return retrieval.Config{}, err
	}
	return retrieval.Config{NFFT: *f.nfft, Hop: *f.hop, WinLength: *f.winLength, Window: f.window, Framing: retrieval.Full}.Resolve()
}

// engineFlags are the streaming engine's options shared by stream and synth.
type engineFlags struct {
	fs                   *pflag.FlagSet
	look, iters          *int
	future               *float64
	budget               *string
	optimizer            stream.Optimizer
	warm                 stream.WarmStart
	precision            *string
	seed                 *uint64
	noCompensate, asJSON *bool
	mel                  *melFlags // the mel bottleneck (stream, live); nil: none
	melStart             retrieval.MelStart
	melAnchor            *float64 // --mel-anchor (addMelStart); nil where not registered
}

func addEngineFlags(fs *pflag.FlagSet) *engineFlags {
	f := &engineFlags{
		fs:   fs,
		look: fs.Int("lookahead", stream.DefaultLookahead, "look-ahead ℓ (frames; 0 makes the rtpghi warm start rtpghi-causal)"),
		iters: fs.Int("iters-per-hop", stream.DefaultFileItersPerHop,
			"optimizer iterations per frame K in file mode (0: warm start only; lbfgs runs at most 64); fixed K gives the same output bytes run after run"),
		budget: fs.String("budget", "auto",
			"deadline mode: iterate while the hop's compute stays under this fraction of the hop duration (replaces --iters-per-hop);\n"+
				"\"auto\": "+fmt.Sprint(stream.DefaultRealtimeBudget)+" when paced in real time (live with a device, stream --realtime; shared by the channels)\n"+
				"unless --iters-per-hop is given, off for files; 0: off.\n"+
				"The iterations then depend on the clock, so the output is not reproducible bit for bit: the report gives the\n"+
				"iterations per hop (p50, p99) to repeat a run with --iters-per-hop. lbfgs (and a mel stream's default) stops at 64\n"+
				"iterations per hop and leaves the rest of the budget unused"),
		precision:    fs.String("precision", "auto", precisionUsage),
		future:       fs.Float64("future-weight", 0, "weight λ ∈ [0, 1] of the not-yet-arrived frames (1: RTISI-LA's normalisation)"),
		seed:         fs.Uint64("seed", 1, "random seed"),
		noCompensate: fs.Bool("no-compensate", false, "keep the latency at the start of the output instead of aligning it with the input"),
		asJSON:       fs.Bool("json", false, "print one JSON object"),
	}
	fs.TextVar(&f.optimizer, "optimizer", stream.FGLA,
		"fgla | gla | lbfgs | adam | sgdm (with mel frames fgla means lbfgs: its extrapolation diverges on the mel loss)")
	fs.TextVar(&f.warm, "warm-start", stream.RTPGHI, "rtpghi | rtpghi-causal | rtisi | zero | noise")
	return f
}

// config resolves the engine flags; realtime says whether the run is paced in real time (where
// --budget auto means stream.DefaultRealtimeBudget).
func (f *engineFlags) config(stft retrieval.Config, rate int, realtime bool) (stream.Config, error) {
	c := stream.Config{STFT: stft, SampleRate: rate, Lookahead: *f.look,
		ItersPerHop: *f.iters, FutureWeight: *f.future, Seed: *f.seed}
	if *f.iters < 0 {
		return c, fmt.Errorf("--iters-per-hop %d: want ≥ 0 iterations (0: warm start only)", *f.iters)
	}
	itersSet := false
	f.fs.Visit(func(fl *pflag.Flag) { itersSet = itersSet || fl.Name == "iters-per-hop" })
	switch b := strings.TrimSpace(*f.budget); {
	case strings.EqualFold(b, "auto"):
		if realtime && !itersSet { // an explicit K is what the user asked for
			c.Budget = stream.DefaultRealtimeBudget
		}
	default:
		v, err := strconv.ParseFloat(b, 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return c, fmt.Errorf("--budget %q: want \"auto\" or a fraction ≥ 0 of the hop duration", *f.budget)
		}
		c.Budget = v
	}
	if c.Budget > 0 {
		c.ItersPerHop = 0
	}
	var err error
	c.Optimizer, c.WarmStart = f.optimizer, f.warm
	if c.Precision, err = parsePrecision(*f.precision, c.Optimizer); err != nil {
		return c, err
	}
	if f.mel != nil {
		if c.Mel, err = f.mel.config(rate, stft.NFFT); err != nil {
			return c, err
		}
	}
	c.MelStart = f.melStart
	if f.melAnchor != nil {
		if c.MelAnchor, err = melAnchorWeight(*f.melAnchor); err != nil {
			return c, err
		}
	}
	if f.mel != nil { // stream, live: the bottleneck decides (synth checks after reading its header)
		if err := f.checkMelStart(c); err != nil {
			return c, err
		}
	}
	return c.Resolve()
}

// bottleneck adds the mel flags of stream and live: resynthesis through a mel bottleneck.
func (f *engineFlags) bottleneck(fs *pflag.FlagSet) {
	f.mel = addMelFlags(fs, "of a mel bottleneck: analysis → mel → resynthesis, to hear what a vocoder's mel input keeps")
	f.addMelStart(fs)
}

// addMelStart adds --mel-start, the warm start's magnitudes of a mel engine (stream.Config.MelStart),
// and --mel-anchor, the pull toward them (stream.Config.MelAnchor).
func (f *engineFlags) addMelStart(fs *pflag.FlagSet) {
	f.melAnchor = fs.Float64("mel-anchor", stream.DefaultMelAnchor,
		"weight of each mel frame's pull toward its warm-start magnitudes inside the mel bands, relative to the mel loss "+
			"(0: none; HiFi-GAN frames at ℓ = 3: 1–1.8 dB better linear SC on speech, 0.4–0.7 dB on music, mel SC within 0.5 dB)")
	fs.TextVar(&f.melStart, "mel-start", retrieval.MelStartAuto,
		"magnitudes of each mel frame's warm start: auto (harmonic where the bins are 25 Hz apart or finer, as HiFi-GAN's "+
			"22.05 kHz / n_fft 1024, else ls) | harmonic (comb at one to three f0s per frame, fitted to the mel; about 0.75 ms per "+
			"HiFi-GAN frame, 3–4 dB better linear SC on speech there, nothing gained at n_fft 512) | ls (clipped least squares)")
}

// melAnchorWeight maps a --mel-anchor value to the library's weight (retrieval.MelProblem.Anchor,
// stream.Config.MelAnchor): 0, the flag's "none", becomes −1, the library's "off" (its 0 is the
// default weight). It refuses negative, NaN and infinite values and values above
// retrieval.MaxMelAnchor, naming the flag.
func melAnchorWeight(w float64) (float64, error) {
	if !(w >= 0) || retrieval.CheckMelAnchor(w) != nil {
		return 0, fmt.Errorf("--mel-anchor %g: want a finite weight from 0 (none) to %g", w, float64(retrieval.MaxMelAnchor))
	}
	if w == 0 {
		return -1, nil
	}
	return w, nil
}

// checkMelStart refuses --mel-start and --mel-anchor on an engine without mel frames (Changed is
// false where the flag is not registered).
func (f *engineFlags) checkMelStart(c stream.Config) error {
	for _, name := range []string{"mel-start", "mel-anchor"} {
		if c.Mel == nil && f.fs.Changed(name) {
			return fmt.Errorf("--%s needs mel frames: --n-mels N for stream and live, a mel frame stream for synth", name)
		}
	}
	return nil
}

// devicePacing is what a run paced by a device (or its simulation) adds to printReport.
type devicePacing struct{ xruns, dropped uint64 }

// printReport prints the engine's figures, the spectral convergence (sc, if not nil) and the
// pacing counters (if not nil).
func printReport(w io.Writer, r *live.EngineReport, sc *float64, pacing *devicePacing) {
	fmt.Fprintf(w, "engine: n_fft %v, hop %v, ℓ = %v, %v with %v warm start, %.1f iterations per hop (p50 %v, p99 %v)",
		r.NFFT, r.HopLength, r.Lookahead, r.Optimizer, r.WarmStart, r.IterationsPerHop, r.IterationsPerHopP50, r.IterationsPerHopP99)
	if r.Budget > 0 {
		fmt.Fprintf(w, ", budget %.2g of the hop", r.Budget)
	}
	fmt.Fprintln(w)
	if r.NMels > 0 {
		fmt.Fprintf(w, "mel frames: %d bands, %s start, anchor %g\n", r.NMels, r.MelStart, *r.MelAnchor)
	}
	fmt.Fprintf(w, "latency %.1f ms (audio in → out; frames in → out %.1f ms), real-time factor %.3f\n",
		r.LatencyMS, r.FramesLatencyMS, r.RTF)
	fmt.Fprintf(w, "per-hop compute: p50 %.3f ms, p99 %.3f ms, max %.3f ms; deadline misses %v of %v frames\n",
		r.BlockMSP50, r.BlockMSP99, r.BlockMSMax, r.DeadlineMisses, r.Frames)
	if sc != nil {
		fmt.Fprintf(w, "spectral convergence %.2f dB\n", *sc)
	}
	if pacing != nil {
		fmt.Fprintf(w, "real-time pacing: %v xruns (output underruns), %v input samples dropped (silence in the output)\n",
			pacing.xruns, pacing.dropped)
	}
}

// readSignal reads a WAV or FLAC input ("-": standard input; see openAudio) whole, rejecting
// unreadable and empty files as input errors.
func readSignal(in string) (*wav.Audio, error) {
	r, err := openSignal(in)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r)
}

// openSignal opens a WAV or FLAC input ("-": standard input; see openAudio) for streaming and
// checks it whole (header, and float samples for NaN/Inf) before any output is written;
// unreadable and empty files are input errors.
func openSignal(in string) (*wav.Reader, error) {
	r, err := openAudio(in)
	if err != nil {
		return nil, inputError{err}
	}
	if err := r.Check(); err != nil {
		r.Close()
		return nil, inputError{err}
	}
	if r.Len() == 0 {
		r.Close()
		return nil, badInput("%s: zero-length signal", in)
	}
	return r, nil
}

// interruptContext is cancelled by SIGINT or SIGTERM: the commands that write audio stop
// reading, drain the engine and finalise what they produced instead of dying with nothing.
func interruptContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// streamBlock is the number of samples per channel stream and analyze read at a time.
const streamBlock = 4096

func mono(a *wav.Audio) []float64 {
	if len(a.Channels) == 1 {
		return a.Channels[0]
	}
	x := make([]float64, a.Len())
	mixInto(x, a.Channels)
	return x
}

// mixInto writes the mean of the channels into dst (as long as each channel).
func mixInto(dst []float64, chs [][]float64) {
	if len(chs) == 1 {
		copy(dst, chs[0])
		return
	}
	clear(dst)
	for _, ch := range chs {
		for i, v := range ch[:len(dst)] {
			dst[i] += v / float64(len(chs))
		}
	}
}

// runStream: WAV → analysis → engine → WAV, every channel (or their mix), read and written block
// by block (memory independent of the input's length), optionally paced in real time; several
// inputs into a directory (streamMany). The channels run on a stream.Pool.
func runStream(args []string) error {
	fs := newFlagSet("stream", "stream IN.wav --out OUT.wav [options]\n  rephase stream IN1.wav IN2.wav … --out DIR [options]",
		"Analyses IN.wav hop by hop and resynthesises it with the streaming engine; the output is aligned\n"+
			"with the input (latency removed) unless --no-compensate. Every channel has its own engine and the\n"+
			"output as many channels (--channels mix: one engine for their mean, a mono output). Several inputs\n"+
			"(one sample rate, any lengths) are resynthesised together into DIR/NAME.wav, one per input; each\n"+
			"channel of each input is one stream of a pool of worker threads (one per core).\n"+
			"SIGINT/SIGTERM stop the run, drain the engines and finalise the WAVs of what was processed.")
	out := fs.StringP("out", "o", "", "output WAV `FILE` (required; - for stdout), or the output directory with several inputs")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	ef.bottleneck(fs)
	channels := fs.String("channels", "separate", "separate (one engine per channel, as many output channels) | mix (one engine for the channels' mean, mono output)")
	realtime := fs.Bool("realtime", false, "pace the input through a ring buffer at the sample rate, as a device callback would, and count xruns and dropped input (one input)")
	pcm16 := fs.Bool("pcm16", false, "write 16-bit PCM instead of 32-bit float")
	progress := fs.String("progress", "auto", progressUsage)
	plotPath := fs.String("plot", "", "also draw the input, reconstruction and error spectrograms (dB) of the first channel and the histogram of the per-hop compute into this PNG `FILE` (reads both WAVs again; needs --out FILE and compensation; one input)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ins := fs.Args()
	if len(ins) == 0 || *out == "" {
		return badInput("stream: need an input WAV and --out")
	}
	if *channels != "separate" && *channels != "mix" {
		return badInput("stream: unknown --channels %q (separate | mix)", *channels)
	}
	opt := streamOptions{sf: sf, ef: ef, mix: *channels == "mix", pcm16: *pcm16, progress: *progress}
	if len(ins) > 1 {
		if *realtime || *plotPath != "" {
			return badInput("stream: --realtime and --plot take one input, not %d", len(ins))
		}
		return streamMany(ins, *out, opt)
	}
	in := ins[0]
	if *plotPath != "" && (*out == "-" || in == "-" || *ef.noCompensate) {
		return badInput("stream: --plot needs a file input and --out FILE, with compensation")
	}
	if err := checkOutput("--out", *out, in); err != nil {
		return err
	}
	r, err := openSignal(in)
	if err != nil {
		return err
	}
	defer r.Close()
	rate, length := r.SampleRate(), r.Len()
	stft, err := opt.stft([]string{in}, []*wav.Reader{r})
	if err != nil {
		return err
	}
	cfg, err := ef.config(stft, rate, *realtime)
	if err != nil {
		return inputError{err}
	}
	src := opt.reader(r)
	nch := src.Channels()
	w, err := wav.NewWriter(*out, rate, nch, opt.encoding())
	if err != nil {
		return err
	}
	defer w.Close() // removes the temporary file unless committed

	var ref live.Reader // the input read a second time for the paced run's spectral convergence
	if *realtime && !*ef.noCompensate {
		rr, err := openAudio(in)
		if err != nil {
			return err
		}
		defer rr.Close()
		ref = opt.reader(rr)
	}
	bar, err := newProgress("stream", *progress, "stream", length, rate)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	sc := live.StreamConfig{Engine: cfg, Input: progressReader{src, bar}, Output: w, Compensate: !*ef.noCompensate, Paced: *realtime,
		Reference: ref}
	rep, err := live.Stream(ctx, sc)
	if err := endRun(bar, err); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	rep.Input, rep.Output = in, *out
	for i := range rep.Streams {
		rep.Streams[i].Input, rep.Streams[i].Output = in, *out
	}
	if *plotPath != "" {
		if err := plotStream(*plotPath, in, *out, stft, rate, rep.Stats, opt.mix); err != nil {
			return err
		}
	}
	if *pcm16 {
		c := w.Clipped()
		rep.ClippedSamples = &c
		if c > 0 {
			fmt.Fprintf(os.Stderr, "rephase: %s: --pcm16 clipped %d samples\n", *out, c)
		}
	}
	if *ef.asJSON {
		return writeJSON(os.Stdout, rep)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz, %.3f s\n", in, *out, nch, rep.OutputSamples, rate, rep.Seconds)
	var pacing *devicePacing
	if rep.Xruns != nil {
		pacing = &devicePacing{*rep.Xruns, *rep.InputDropped}
	}
	printReport(os.Stdout, &rep.EngineReport, rep.SCDB, pacing)
	if len(rep.Streams) > 1 {
		printStreams(os.Stdout, rep.Streams, rep.Pool, rate, cfg.STFT.Hop)
	}
	if rep.Interrupted {
		fmt.Println("interrupted: engine drained, output finalised")
	}
	return nil
}

// endRun finishes the progress bar (if not nil) and returns err, a *live.InputError as an
// inputError.
func endRun(bar *progressbar.ProgressBar, err error) error {
	if bar != nil {
		bar.Finish()
	}
	var ie *live.InputError
	if errors.As(err, &ie) {
		return inputError{ie.Err}
	}
	return err
}

// streamOptions are the flags stream's runs with one and with several inputs share.
type streamOptions struct {
	sf         *stftFlags
	ef         *engineFlags
	mix, pcm16 bool
	progress   string
}

// stft resolves the analysis flags and checks them against every input.
func (o streamOptions) stft(ins []string, rs []*wav.Reader) (retrieval.Config, error) {
	stft, err := o.sf.config()
	if err != nil {
		return stft, inputError{err}
	}
	for i, r := range rs {
		if err := checkNFFT(ins[i], stft.NFFT, int(min(r.Len(), math.MaxInt32))); err != nil {
			return stft, err
		}
	}
	return stft, nil
}

// reader is r as the engines take it: its channels, or their mix with --channels mix.
func (o streamOptions) reader(r *wav.Reader) live.Reader {
	if o.mix && r.Channels() > 1 {
		return &mixReader{Reader: r}
	}
	return r
}

// encoding is the output WAVs' encoding.
func (o streamOptions) encoding() wav.Encoding {
	if o.pcm16 {
		return wav.PCM16
	}
	return wav.Float32
}

// mixReader is a live.Reader of one channel, the mean of its Reader's (--channels mix).
type mixReader struct {
	live.Reader
	block [][]float64
}

func (m *mixReader) Channels() int { return 1 }

func (m *mixReader) Read(dst [][]float64) (int, error) {
	if m.block == nil {
		m.block = make([][]float64, m.Reader.Channels())
	}
	for c := range m.block {
		m.block[c] = slices.Grow(m.block[c][:0], len(dst[0]))[:len(dst[0])]
	}
	n, err := m.Reader.Read(m.block)
	mixInto(dst[0][:n], m.block)
	return n, err
}

// streamMany runs `rephase stream` with several inputs, each into dir/NAME.wav (NAME: the input's
// file name without its extension), all of them in one pool (live.StreamMulti).
func streamMany(ins []string, dir string, opt streamOptions) error {
	if dir == "-" || slices.Contains(ins, "-") {
		return badInput("stream: several inputs need input files and --out DIR, not -")
	}
	outs := make([]string, len(ins))
	byName := map[string]string{}
	for i, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		if prev, dup := byName[name]; dup {
			return badInput("stream: %s and %s would both write %s.wav in %s", prev, in, name, dir)
		}
		byName[name], outs[i] = in, filepath.Join(dir, name+".wav")
		if err := checkOutput("--out", outs[i], ins...); err != nil {
			return err
		}
	}
	rs := make([]*wav.Reader, len(ins))
	srcs := make([]live.Reader, len(ins))
	longest := 0
	for i, in := range ins {
		r, err := openSignal(in)
		if err != nil {
			return err
		}
		defer r.Close()
		if i > 0 && r.SampleRate() != rs[0].SampleRate() {
			return badInput("stream: %s is at %d Hz, %s at %d Hz: several inputs need one sample rate", in, r.SampleRate(), ins[0], rs[0].SampleRate())
		}
		rs[i], srcs[i] = r, opt.reader(r)
		if r.Len() > rs[longest].Len() {
			longest = i
		}
	}
	rate := rs[0].SampleRate()
	stft, err := opt.stft(ins, rs)
	if err != nil {
		return err
	}
	cfg, err := opt.ef.config(stft, rate, false)
	if err != nil {
		return inputError{err}
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return badInput("stream: --out %s is a file: with several inputs --out names a directory (one WAV per input)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ws := make([]*wav.Writer, len(ins))
	outputs := make([]live.Writer, len(ins))
	for i := range ins {
		w, err := wav.NewWriter(outs[i], rate, srcs[i].Channels(), opt.encoding())
		if err != nil {
			return err
		}
		defer w.Close() // removes the temporary file unless committed
		ws[i], outputs[i] = w, w
	}
	bar, err := newProgress("stream", opt.progress, "stream", rs[longest].Len(), rate)
	if err != nil {
		return err
	}
	srcs[longest] = progressReader{srcs[longest], bar} // the longest input ends last
	ctx, stop := interruptContext()
	defer stop()
	rep, err := live.StreamMulti(ctx, live.MultiConfig{Engine: cfg, Inputs: srcs, Outputs: outputs, Compensate: !*opt.ef.noCompensate})
	if err := endRun(bar, err); err != nil {
		return err
	}
	for _, w := range ws {
		if err := w.Commit(); err != nil {
			return err
		}
	}
	for i := range rep.Streams {
		e := &rep.Streams[i]
		e.Input, e.Output = ins[e.InputIndex], outs[e.InputIndex]
		if opt.pcm16 {
			c := ws[e.InputIndex].Clipped()
			e.ClippedSamples = &c
			if c > 0 && e.Channel == 0 {
				fmt.Fprintf(os.Stderr, "rephase: %s: --pcm16 clipped %d samples\n", e.Output, c)
			}
		}
	}
	if *opt.ef.asJSON {
		return writeJSON(os.Stdout, rep)
	}
	e := rep.Streams[0]
	fmt.Printf("%d inputs → %s: %d streams at %d Hz, %.3f s\n", len(ins), dir, len(rep.Streams), rate, rep.Seconds)
	fmt.Printf("engine: n_fft %v, hop %v, ℓ = %v, %v with %v warm start; latency %.1f ms (audio in → out)\n",
		e.NFFT, e.HopLength, e.Lookahead, e.Optimizer, e.WarmStart, e.LatencyMS)
	printStreams(os.Stdout, rep.Streams, &rep.Pool, rate, cfg.STFT.Hop)
	if rep.Interrupted {
		fmt.Println("interrupted: engines drained, outputs finalised")
	}
	return nil
}

// printStreams prints one row per stream (the input and channel, its output, samples, iterations
// per hop, per-hop compute and round times, deadline misses and spectral convergence) and the
// pool's round figures, for streams at rate Hz with hops of hop samples.
func printStreams(w io.Writer, streams []live.StreamEntry, pool *live.PoolReport, rate, hop int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stream\toutput\tsamples\titers/hop\thop p50/p99 ms\tround p50/p99 ms\tmisses (hop/round)\tSC dB\t")
	for _, e := range streams {
		sc := "-"
		if e.SCDB != nil {
			sc = fmt.Sprintf("%.2f", *e.SCDB)
		}
		fmt.Fprintf(tw, "%s:%d\t%s\t%d\t%.1f\t%.3f/%.3f\t%.3f/%.3f\t%d/%d\t%s\t\n", e.Input, e.Channel, e.Output, e.OutputSamples,
			e.IterationsPerHop, e.BlockMSP50, e.BlockMSP99, e.RoundMSP50, e.RoundMSP99, e.DeadlineMisses, e.RoundDeadlineMisses, sc)
	}
	tw.Flush()
	fmt.Fprintf(w, "pool: %d workers, %d streams, %d rounds: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %d rounds over the hop (%.3f ms); %.3f s per s of audio\n",
		pool.Workers, pool.Streams, pool.Rounds, pool.RoundMSP50, pool.RoundMSP99, pool.RoundMSMax, pool.DeadlineMisses,
		1000*float64(hop)/float64(rate), pool.RTF)
}

// runAnalyze: WAV → frame stream on stdout (or --out).
func runAnalyze(args []string) error {
	fs := newFlagSet("analyze", "analyze IN.wav [options] > frames",
		"Writes the STFT magnitudes of IN.wav (channels mixed to mono) as a frame stream (docs/frame-stream.md),\n"+
			"or with --format npy as a float32 .npy of bins × frames, as np.abs(librosa.stft(y)) (default for --out *.npy).\n"+
			"With --n-mels, writes mel frames g(Φ·|X|^p) instead (--power, --log): a version 3 frame stream that\n"+
			"describes its filterbank, or an n_mels × frames .npy, as a TTS model's mel spectrogram.")
	out := fs.StringP("out", "o", "-", "output `FILE` (- for stdout)")
	headerless := fs.Bool("headerless", false, "omit the header (the reader must be given the parameters)")
	format := fs.String("format", "", "output format: frames (the frame stream) | npy (bins × frames float32); default npy for --out *.npy, else frames")
	sf := addSTFTFlags(fs)
	mf := addMelFlags(fs, "per frame instead of the n_fft/2+1 magnitudes")
	msf := addMelStorageFlags(fs)
	progress := fs.String("progress", "auto", progressUsage)
	in, err := parseWithInput(fs, args, "analyze")
	if err != nil {
		return err
	}
	if in == "" {
		return badInput("analyze: need an input WAV")
	}
	if err := checkProgress("analyze", *progress); err != nil { // also for --format npy, which has no bar
		return err
	}
	o, err := openOutput(*out, in)
	if err != nil {
		return err
	}
	defer o.close() // removes the temporary file unless committed
	r, err := openSignal(in)
	if err != nil {
		return err
	}
	defer r.Close()
	stft, err := sf.config()
	if err != nil {
		return inputError{err}
	}
	if err := checkNFFT(in, stft.NFFT, int(min(r.Len(), math.MaxInt32))); err != nil {
		return err
	}
	mc, err := mf.config(r.SampleRate(), stft.NFFT)
	if err != nil {
		return inputError{err}
	}
	ml, err := msf.loss()
	if err != nil {
		return inputError{err}
	}
	toMel := func(mag []float64) []float64 { return mag }
	if mc != nil {
		if toMel, err = melFrames(*mc, ml); err != nil {
			return inputError{err}
		}
	}
	if asNpy, err := npyFormat(*format, *out); err != nil || asNpy {
		if err != nil {
			return err
		}
		return analyzeNpy(o, r, stft, toMel) // in memory, a matter of seconds: no bar
	}
	hdr := framestream.Header{SampleRate: r.SampleRate(), NFFT: stft.NFFT, Hop: stft.Hop, WinLength: stft.WinLength,
		Window: stft.Window, Symmetric: stft.Symmetric, Length: r.Len(), Mel: mc, MelLoss: ml}
	fw, err := framestream.NewWriter(o, hdr, fsHeaderMode(*headerless))
	if err != nil {
		return inputError{err}
	}
	write := func(mag []float64) error { return fw.WriteFrame(toMel(mag)) }
	an, err := stream.NewAnalyzer(stft)
	if err != nil {
		return inputError{err}
	}
	defer an.Close()
	ctx, stop := interruptContext()
	defer stop()
	// Block by block, channels mixed to mono: memory independent of the input's length.
	block := make([][]float64, r.Channels())
	for c := range block {
		block[c] = make([]float64, streamBlock)
	}
	x := make([]float64, streamBlock)
	bar, err := newProgress("analyze", *progress, "analyze", r.Len(), r.SampleRate())
	if err != nil {
		return err
	}
	if bar != nil {
		defer bar.Finish()
	}
	pr := progressReader{r, bar}
	for ctx.Err() == nil {
		n, err := pr.Read(block)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return inputError{err}
		}
		for c := range block {
			block[c] = block[c][:n]
		}
		mixInto(x[:n], block)
		if err := an.Write(x[:n], write); err != nil {
			return err
		}
		for c := range block {
			block[c] = block[c][:streamBlock]
		}
	}
	// Interrupted or not, the frames of what was read are finished and the output completed.
	if err := an.Flush(write); err != nil {
		return err
	}
	if err := fw.Flush(); err != nil {
		return err
	}
	return o.commit()
}

// runSynth: frame stream on stdin (or --in) → engine → WAV or raw PCM on stdout.
func runSynth(args []string) error {
	fs := newFlagSet("synth", "synth --out OUT.wav|- [options] < frames",
		"Resynthesises a frame stream (docs/frame-stream.md) with the streaming engine. --out - writes raw\n"+
			"PCM (--format) to stdout hop by hop; a WAV is written even when the stream is cut short.")
	in := fs.StringP("in", "i", "-", "frame stream `FILE` (- for stdin)")
	out := fs.StringP("out", "o", "", "output WAV `FILE`, or - for raw PCM on stdout (required)")
	format := fs.String("format", "f32", "raw PCM format for --out -: f32 (float32le) | s16 (s16le)")
	headerless := fs.Bool("headerless", false, "the stream has no header: take --sr, --n-fft, --hop, --win-length, --window, --center (and --n-mels … for mel frames)")
	sr := fs.Int("sr", 16000, "sample rate for --headerless (Hz)")
	center := fs.Bool("center", false, "for --headerless: frames are centred on m·hop, as torch.stft(center=True) and librosa write them")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	ef.addMelStart(fs)
	mf := addMelFlags(fs, "per frame of a --headerless mel stream (a header describes its own)")
	msf := addMelStorageFlags(fs)
	pcm16 := fs.Bool("pcm16", false, "write a 16-bit PCM WAV instead of 32-bit float")
	progress := fs.String("progress", "auto", progressUsage+" (needs the signal length of a header)")
	if _, err := parseWithInput(fs, args, "synth"); err != nil {
		return err
	}
	if *out == "" {
		return badInput("synth: need --out")
	}
	if *format != "f32" && *format != "s16" {
		return badInput("synth: unknown --format %q (f32 | s16)", *format)
	}
	var r io.Reader = os.Stdin
	name := "stdin"
	if *in != "-" && *out != "-" {
		if err := checkOutput("--out", *out, *in); err != nil {
			return err
		}
	}
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return inputError{err}
		}
		defer f.Close()
		r, name = f, *in
	}
	var hdr framestream.Header
	if *headerless {
		stft, err := sf.config()
		if err != nil {
			return inputError{err}
		}
		hdr = framestream.Header{SampleRate: *sr, NFFT: stft.NFFT, Hop: stft.Hop, WinLength: stft.WinLength, Window: stft.Window, Center: *center}
		if hdr.Mel, err = mf.config(*sr, stft.NFFT); err != nil {
			return inputError{err}
		}
		if hdr.MelLoss, err = msf.loss(); err != nil {
			return inputError{err}
		}
	}
	fr, err := framestream.NewReader(r, hdr, fsHeaderMode(*headerless))
	if err != nil {
		return badInput("%s: %v", name, err)
	}
	hdr = fr.Header()
	stft, _ := hdr.Config()
	cfg, err := ef.config(stft, hdr.SampleRate, false)
	if err != nil {
		return inputError{err}
	}
	if hdr.Mel != nil { // mel frames: the engine fits the mel loss (Config.Mel)
		cfg.Mel, cfg.MelLoss = hdr.Mel, hdr.MelLoss
		if cfg, err = cfg.Resolve(); err != nil {
			return inputError{err}
		}
	}
	if err := ef.checkMelStart(cfg); err != nil {
		return badInput("synth: %v", err)
	}
	e, err := stream.NewEngine(cfg)
	if err != nil {
		return inputError{err}
	}
	defer e.Close()

	// The frame pipeline aligns the output with the analysed signal (the engine's delay, less the
	// Advance of centre-framed frames) and ends it at the signal's length when the header carries
	// it (docs/frame-stream.md); --no-compensate keeps the engine's stream as it comes.
	align := stream.Aligned
	if *ef.noCompensate {
		align = stream.Delayed
	}
	pl := stream.NewFramePipeline(e, align, hdr.Advance())
	pl.SetLength(hdr.Length)
	var wout *wav.Writer // WAV output, written as it comes
	var raw *rawWriter
	if *out == "-" {
		raw = newRawWriter(os.Stdout, *format == "s16")
	} else {
		enc := wav.Float32
		if *pcm16 {
			enc = wav.PCM16
		}
		if wout, err = wav.NewWriter(*out, hdr.SampleRate, 1, enc); err != nil {
			return err
		}
		defer wout.Close() // removes the temporary file unless committed
	}
	emit := func(v []float64) error {
		if raw != nil {
			return raw.write(v)
		}
		return wout.Write([][]float64{v})
	}
	bar, err := newProgress("synth", *progress, "synth", hdr.Length, hdr.SampleRate)
	if err != nil {
		return err
	}
	if bar != nil {
		defer bar.Finish()
	}
	ctx, stop := interruptContext()
	defer stop()
	frames := readFrames(ctx, fr)
	start := time.Now()
	var readErr error
	interrupted := false
loop:
	for {
		var f frameRead
		select {
		case <-ctx.Done():
			interrupted = true
			break loop
		case f = <-frames.c:
		}
		if f.err != nil {
			if !errors.Is(f.err, io.EOF) {
				readErr = badInput("%s: %v", name, f.err)
			}
			break
		}
		err := pl.WriteFrame(f.mag, emit)
		frames.free <- f.mag
		if bar != nil {
			bar.Set64(e.Stats().Frames * int64(e.Hop()))
		}
		if err != nil {
			return err
		}
	}
	if e.Stats().Frames == 0 { // header only, or a bad first frame: no output (docs/frame-stream.md)
		if readErr != nil {
			return readErr
		}
		if interrupted {
			return fmt.Errorf("%s: interrupted before the first frame", name)
		}
		return badInput("%s: the frame stream has no frames", name)
	}
	if err := pl.Flush(emit); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if wout != nil {
		if err := wout.Commit(); err != nil {
			return err
		}
	}
	nframes := int(e.Stats().Frames)
	rep := synthReport{EngineReport: live.NewEngineReport(e, float64(nframes*e.Hop())/float64(hdr.SampleRate), secs),
		Input: name, Output: *out, Seconds: secs, Interrupted: interrupted}
	report := os.Stdout
	if raw != nil {
		report = os.Stderr
	}
	if *ef.asJSON {
		if err := writeJSON(report, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(report, "%s → %s: %d frames at %d Hz\n", name, *out, nframes, hdr.SampleRate)
		printReport(report, &rep.EngineReport, nil, nil)
		if interrupted {
			fmt.Fprintln(report, "interrupted: engine drained, output finalised")
		}
	}
	return readErr
}

// synthReport is synth's --json report.
type synthReport struct {
	live.EngineReport
	Input       string  `json:"input"`
	Output      string  `json:"output"`
	Seconds     float64 `json:"seconds"`
	Interrupted bool    `json:"interrupted,omitempty"`
}

// frameRead is one frame (or the error that ended the stream) from readFrames.
type frameRead struct {
	mag []float64
	err error
}

// frameQueue carries frames from the reading goroutine: c delivers them, free takes the
// buffers back.
type frameQueue struct {
	c    chan frameRead
	free chan []float64
}

// readFrames reads fr on its own goroutine, a few frames ahead, so that the caller can stop on a
// signal while a read from a pipe blocks. The goroutine ends after the stream's last frame or
// error, or when ctx is cancelled (a read it is blocked in is abandoned with it).
func readFrames(ctx context.Context, fr *framestream.Reader) frameQueue {
	const ahead = 4
	q := frameQueue{c: make(chan frameRead, ahead), free: make(chan []float64, ahead)}
	for range ahead {
		q.free <- make([]float64, fr.Header().Bins())
	}
	go func() {
		for {
			var mag []float64
			select {
			case <-ctx.Done():
				return
			case mag = <-q.free:
			}
			err := fr.ReadFrame(mag)
			select {
			case <-ctx.Done():
				return
			case q.c <- frameRead{mag, err}:
			}
			if err != nil {
				return
			}
		}
	}()
	return q
}

// rawWriter writes headerless PCM (s16 or f32, little-endian) and, like the WAV writers, refuses
// non-finite samples.
type rawWriter struct {
	w       io.Writer
	s16     bool
	buf     []byte
	written int
}

func newRawWriter(w io.Writer, s16 bool) *rawWriter { return &rawWriter{w: w, s16: s16} }

func (r *rawWriter) write(v []float64) error {
	r.buf = r.buf[:0]
	for i, s := range v {
		if wav.Unwritable(s) {
			return &wav.NonFiniteError{Path: "stdout", Sample: r.written + i, Value: s}
		}
		if r.s16 {
			r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(wav.S16(s)))
		} else {
			r.buf = binary.LittleEndian.AppendUint32(r.buf, math.Float32bits(float32(s)))
		}
	}
	r.written += len(v)
	_, err := r.w.Write(r.buf)
	return err
}

// fsHeaderMode maps the --headerless flag to the frame stream's HeaderMode.
func fsHeaderMode(headerless bool) framestream.HeaderMode {
	if headerless {
		return framestream.Headerless
	}
	return framestream.WithHeader
}

// plotStream draws `stream --plot`: the first channel of the input (their mix with mix) and of the
// output, read again whole, and the engine's per-hop compute times against the hop's duration.
func plotStream(path, in, out string, stft retrieval.Config, rate int, st stream.Stats, mix bool) error {
	x, err := readSignal(in)
	if err != nil {
		return err
	}
	if mix {
		x.Channels = [][]float64{mono(x)}
	}
	y, err := readSignal(out)
	if err != nil {
		return err
	}
	sp, err := plots.Analyse(stft, rate, x.Channels[0], y.Channels[0])
	if err != nil {
		return inputError{err}
	}
	times := st.FrameTimes()
	h := plots.Hops{Ms: make([]float64, len(times)), HopMs: 1000 * float64(stft.Hop) / float64(rate)}
	for i, d := range times {
		h.Ms[i] = float64(d.Microseconds()) / 1000
	}
	return writePlot(path, in, func(w io.Writer) error { return plots.WriteStream(w, sp, h) })
}
