package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/ringbuffer"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/framestream"
	"github.com/rephase/rephase/stream/wav"
)

// stftFlags are the analysis parameters shared by stream, analyze and synth.
type stftFlags struct {
	nfft, hop, winLength *int
	window               *string
}

func addSTFTFlags(fs *flag.FlagSet) *stftFlags {
	return &stftFlags{
		nfft:      fs.Int("n-fft", 512, "n_fft (samples)"),
		hop:       fs.Int("hop", 0, "hop length (samples; 0: win_length/4)"),
		winLength: fs.Int("win-length", 0, "window length (samples; 0: n_fft)"),
		window:    fs.String("window", "hann", "hann | hamming | blackman | gauss | rect"),
	}
}

func (f *stftFlags) config() (retrieval.Config, error) {
	w, err := retrieval.ParseWindow(*f.window)
	if err != nil {
		return retrieval.Config{}, err
	}
	return retrieval.Config{NFFT: *f.nfft, Hop: *f.hop, WinLength: *f.winLength, Window: w, Framing: retrieval.Full}.Resolve()
}

// engineFlags are the streaming engine's options shared by stream and synth.
type engineFlags struct {
	look, iters          *int
	future               *float64
	budget               *string
	optimizer, warm      *string
	seed                 *uint64
	noCompensate, asJSON *bool
}

func addEngineFlags(fs *flag.FlagSet) *engineFlags {
	return &engineFlags{
		look: fs.Int("lookahead", 3, "look-ahead ℓ (frames)"),
		iters: fs.Int("iters-per-hop", stream.DefaultFileItersPerHop,
			"optimizer iterations per frame K in file mode (0: warm start only); fixed K gives the same output bytes run after run"),
		budget: fs.String("budget", "auto",
			"deadline mode: iterate while the hop's compute stays under this fraction of the hop duration (replaces --iters-per-hop);\n"+
				"\"auto\": "+fmt.Sprint(stream.DefaultRealtimeBudget)+" when paced in real time (live with a device, stream --realtime), off for files; 0: off.\n"+
				"The iterations then depend on the clock, so the output is not reproducible bit for bit: the report gives the\n"+
				"iterations per hop (p50, p99) to repeat a run with --iters-per-hop"),
		optimizer:    fs.String("optimizer", "fgla", "fgla | lbfgs | gla | adam"),
		warm:         fs.String("warm-start", "rtpghi", "rtpghi | rtpghi-causal | rtisi | zero | noise"),
		future:       fs.Float64("future-weight", 0, "weight λ ∈ [0, 1] of the not-yet-arrived frames (1: RTISI-LA's normalisation)"),
		seed:         fs.Uint64("seed", 1, "random seed"),
		noCompensate: fs.Bool("no-compensate", false, "keep the latency at the start of the output instead of aligning it with the input"),
		asJSON:       fs.Bool("json", false, "print one JSON object"),
	}
}

// config resolves the engine flags; realtime says whether the run is paced in real time (where
// --budget auto means stream.DefaultRealtimeBudget).
func (f *engineFlags) config(stft retrieval.Config, rate int, realtime bool) (stream.Config, error) {
	c := stream.Config{STFT: stft, SampleRate: rate, Lookahead: *f.look, NoLookahead: *f.look == 0,
		ItersPerHop: *f.iters, FutureWeight: *f.future, Seed: *f.seed}
	if *f.iters == 0 {
		c.ItersPerHop = -1
	}
	switch b := strings.TrimSpace(*f.budget); {
	case strings.EqualFold(b, "auto"):
		if realtime {
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
	if c.Optimizer, err = stream.ParseOptimizer(*f.optimizer); err != nil {
		return c, err
	}
	if c.WarmStart, err = stream.ParseWarmStart(*f.warm); err != nil {
		return c, err
	}
	return c.Resolve()
}

// parseWithInput parses flags that may come before or after one positional argument.
func parseWithInput(fs *flag.FlagSet, args []string, cmd string) (string, error) {
	var in string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", inputError{err}
		}
		args = fs.Args()
		if len(args) > 0 {
			if in != "" {
				return "", badInput("%s: more than one input (%q, %q)", cmd, in, args[0])
			}
			in, args = args[0], args[1:]
		}
	}
	return in, nil
}

// engineReport collects the figures every streaming command prints.
func engineReport(e *stream.Engine, rate int, audioSeconds, computeSeconds float64) map[string]any {
	st := e.Stats()
	lat := e.Latency()
	c := e.Config()
	return map[string]any{
		"n_fft": c.STFT.NFFT, "hop_length": c.STFT.Hop, "win_length": c.STFT.WinLength, "window": c.STFT.Window.String(),
		"lookahead": c.Lookahead, "optimizer": c.Optimizer.String(), "warm_start": c.WarmStart.String(),
		"latency_ms":             1000 * float64(lat.AudioToAudio) / float64(rate),
		"latency_samples":        lat.AudioToAudio,
		"frames_latency_ms":      1000 * float64(lat.FramesToAudio) / float64(rate),
		"rtf":                    computeSeconds / math.Max(audioSeconds, 1e-12),
		"block_ms_p50":           ms(st.Percentile(50)),
		"block_ms_p99":           ms(st.Percentile(99)),
		"block_ms_max":           ms(st.Max),
		"deadline_misses":        st.DeadlineMisses,
		"iterations_per_hop":     st.IterationsPerFrame(),
		"iterations_per_hop_p50": st.IterationsPercentile(50),
		"iterations_per_hop_p99": st.IterationsPercentile(99),
		"budget":                 c.Budget,
		"frames":                 st.Frames,
		"sample_rate":            rate,
	}
}

func printReport(w io.Writer, r map[string]any) {
	fmt.Fprintf(w, "engine: n_fft %v, hop %v, ℓ = %v, %v with %v warm start, %.1f iterations per hop (p50 %v, p99 %v)",
		r["n_fft"], r["hop_length"], r["lookahead"], r["optimizer"], r["warm_start"], r["iterations_per_hop"],
		r["iterations_per_hop_p50"], r["iterations_per_hop_p99"])
	if b, _ := r["budget"].(float64); b > 0 {
		fmt.Fprintf(w, ", budget %.2g of the hop", b)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "latency %.1f ms (audio in → out; frames in → out %.1f ms), real-time factor %.3f\n",
		r["latency_ms"], r["frames_latency_ms"], r["rtf"])
	fmt.Fprintf(w, "per-hop compute: p50 %.3f ms, p99 %.3f ms, max %.3f ms; deadline misses %v of %v frames\n",
		r["block_ms_p50"], r["block_ms_p99"], r["block_ms_max"], r["deadline_misses"], r["frames"])
	if v, ok := r["sc_db"]; ok {
		fmt.Fprintf(w, "spectral convergence %.2f dB\n", v)
	}
	if v, ok := r["xruns"]; ok {
		fmt.Fprintf(w, "real-time pacing: %v xruns (output underruns)\n", v)
	}
}

// readSignal reads a WAV input, rejecting unreadable and empty files as input errors.
func readSignal(in string) (*wav.Audio, error) {
	a, err := wav.Read(in)
	if err != nil {
		return nil, inputError{err}
	}
	if a.Len() == 0 {
		return nil, badInput("%s: zero-length signal", in)
	}
	return a, nil
}

func mono(a *wav.Audio) []float64 {
	if len(a.Channels) == 1 {
		return a.Channels[0]
	}
	x := make([]float64, a.Len())
	for _, ch := range a.Channels {
		for i, v := range ch {
			x[i] += v / float64(len(a.Channels))
		}
	}
	return x
}

// runStream: WAV → analysis → engine → WAV, each channel, optionally paced in real time.
func runStream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rephase stream IN.wav --out OUT.wav [options]\n\n"+
			"Analyses IN.wav hop by hop and resynthesises it with the streaming engine; the output is aligned\n"+
			"with the input (latency removed) unless --no-compensate.\n\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output WAV file (required)")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	realtime := fs.Bool("realtime", false, "pace the input through a ring buffer at the sample rate, as a device callback would, and count xruns (first channel)")
	pcm16 := fs.Bool("pcm16", false, "write 16-bit PCM instead of 32-bit float")
	in, err := parseWithInput(fs, args, "stream")
	if err != nil {
		return err
	}
	if in == "" || *out == "" {
		fs.Usage()
		return badInput("stream: need an input WAV and --out")
	}
	a, err := readSignal(in)
	if err != nil {
		return err
	}
	stft, err := sf.config()
	if err != nil {
		return inputError{err}
	}
	cfg, err := ef.config(stft, a.SampleRate, *realtime)
	if err != nil {
		return inputError{err}
	}
	e, err := stream.NewEngine(cfg)
	if err != nil {
		return inputError{err}
	}
	defer e.Close()
	an, err := stream.NewAnalyzer(stft)
	if err != nil {
		return inputError{err}
	}
	defer an.Close()

	var outs [][]float64
	var scs []float64
	var xruns uint64
	start := time.Now()
	for c, x := range a.Channels {
		var y []float64
		if *realtime && c == 0 {
			y, xruns, err = pacedResynthesis(e, an, x, a.SampleRate)
		} else {
			y, err = stream.Resynthesize(e, an, x)
		}
		if err != nil {
			return err
		}
		if *ef.noCompensate {
			y = append(make([]float64, e.Latency().FileDelay), y...)
		} else {
			scs = append(scs, channelSC(stft, x, y))
		}
		outs = append(outs, y)
	}
	secs := time.Since(start).Seconds()
	enc := wav.Float32
	if *pcm16 {
		enc = wav.PCM16
	}
	if err := wav.Write(*out, a.SampleRate, outs, enc); err != nil {
		return err
	}
	r := engineReport(e, a.SampleRate, float64(a.Len()*len(a.Channels))/float64(a.SampleRate), secs)
	r["input"], r["output"], r["channels"], r["seconds"] = in, *out, len(a.Channels), secs
	if scs != nil {
		r["sc_db"] = mean(scs)
	}
	if *realtime {
		r["xruns"] = xruns
		r["rtf"] = nil // paced: wall time equals audio time by construction
	}
	if *ef.asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz, %.3f s\n", in, *out, len(a.Channels), a.Len(), a.SampleRate, secs)
	if *realtime {
		r["rtf"] = math.NaN()
	}
	printReport(os.Stdout, r)
	return nil
}

// channelSC is the independent metric (retrieval.STFTSpectralConvergenceDB).
func channelSC(stft retrieval.Config, x, y []float64) float64 {
	return retrieval.STFTSpectralConvergenceDB(stft, x, y)
}

// pacedResynthesis feeds x through a ring buffer at the sample rate (a producer goroutine
// writing one hop per hop duration, as an input callback would), runs analysis and engine on a
// worker reading that ring, writes the output into a second ring drained at the sample rate by a
// consumer goroutine (an output callback), and counts the consumer's underruns (xruns). It
// returns the engine's output aligned with x.
func pacedResynthesis(e *stream.Engine, an *stream.Analyzer, x []float64, rate int) ([]float64, uint64, error) {
	hop := e.Hop()
	period := time.Duration(float64(hop) / float64(rate) * float64(time.Second))
	inP, inC := ringbuffer.New(16 * hop)
	outP, outC := ringbuffer.New(16 * hop)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // input "callback"
		defer wg.Done()
		defer inP.Close()
		buf := make([]float32, hop)
		next := time.Now()
		for i := 0; i < len(x); i += hop {
			n := copy32(buf, x[i:min(len(x), i+hop)])
			clear(buf[n:]) // a device delivers whole buffers: silence after the end
			inP.Write(buf)
			if i+hop >= len(x) {
				break
			}
			next = next.Add(period)
			time.Sleep(time.Until(next))
		}
	}()
	var xruns atomic.Uint64
	var workerDone atomic.Bool
	go func() { // output "callback": starts one hop after the first output, then one hop per period
		defer wg.Done()
		buf := make([]float32, hop)
		for outC.Available() < hop && !workerDone.Load() {
			time.Sleep(period / 16)
		}
		// Half a period of margin against scheduling jitter, within the one hop of block
		// buffering that Latency().AudioToAudio counts.
		next := time.Now().Add(period / 2)
		time.Sleep(period / 2)
		for {
			done := workerDone.Load() // before reading: whatever the worker wrote is visible
			if outC.Read(buf) < hop {
				if done {
					return
				}
				xruns.Add(1)
			}
			next = next.Add(period)
			time.Sleep(time.Until(next))
		}
	}()
	an.Reset()
	e.Reset()
	y := make([]float64, 0, len(x)+e.Latency().FileDelay+e.FlushLen()+hop)
	block := make([]float64, hop)
	in32 := make([]float32, hop)
	in64 := make([]float64, hop)
	out32 := make([]float32, hop)
	push := func(mag []float64) error {
		if err := e.Push(block, mag); err != nil {
			return err
		}
		y = append(y, block...)
		copy32(out32, block)
		outP.Write(out32)
		return nil
	}
	var err error
	for err == nil {
		n, done := inC.ReadFull(in32)
		for i, v := range in32[:n] {
			in64[i] = float64(v)
		}
		err = an.Write(in64[:n], push)
		if done {
			break
		}
	}
	if err == nil {
		err = an.Flush(push)
	}
	tail := make([]float64, e.FlushLen())
	e.Flush(tail)
	y = append(y, tail...)
	for i := 0; i < len(tail); i += hop {
		n := copy32(out32, tail[i:])
		outP.WriteAll(out32[:n])
	}
	workerDone.Store(true)
	inC.Close()
	wg.Wait()
	if err != nil {
		return nil, 0, err
	}
	y = y[e.Latency().FileDelay:]
	return y[:min(len(y), len(x))], xruns.Load(), nil
}

func copy32(dst []float32, src []float64) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = float32(src[i])
	}
	return n
}

// runAnalyze: WAV → frame stream on stdout (or --out).
func runAnalyze(args []string) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rephase analyze IN.wav [options] > frames\n\n"+
			"Writes the STFT magnitudes of IN.wav (channels mixed to mono) as a frame stream (docs/frame-stream.md).\n\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "-", "output file (- for stdout)")
	headerless := fs.Bool("headerless", false, "omit the header (the reader must be given the parameters)")
	sf := addSTFTFlags(fs)
	in, err := parseWithInput(fs, args, "analyze")
	if err != nil {
		return err
	}
	if in == "" {
		fs.Usage()
		return badInput("analyze: need an input WAV")
	}
	a, err := readSignal(in)
	if err != nil {
		return err
	}
	stft, err := sf.config()
	if err != nil {
		return inputError{err}
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	fw, err := framestream.NewWriter(w, framestream.Header{SampleRate: a.SampleRate, NFFT: stft.NFFT, Hop: stft.Hop, WinLength: stft.WinLength, Window: stft.Window}, *headerless)
	if err != nil {
		return inputError{err}
	}
	an, err := stream.NewAnalyzer(stft)
	if err != nil {
		return inputError{err}
	}
	defer an.Close()
	x := mono(a)
	if err := an.Write(x, fw.WriteFrame); err != nil {
		return err
	}
	if err := an.Flush(fw.WriteFrame); err != nil {
		return err
	}
	return fw.Flush()
}

// runSynth: frame stream on stdin (or --in) → engine → WAV or raw PCM on stdout.
func runSynth(args []string) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rephase synth --out OUT.wav|- [options] < frames\n\n"+
			"Resynthesises a frame stream (docs/frame-stream.md) with the streaming engine. --out - writes raw\n"+
			"PCM (--format) to stdout hop by hop; a WAV is written even when the stream is cut short.\n\n")
		fs.PrintDefaults()
	}
	in := fs.String("in", "-", "frame stream file (- for stdin)")
	out := fs.String("out", "", "output WAV, or - for raw PCM on stdout (required)")
	format := fs.String("format", "f32", "raw PCM format for --out -: f32 (float32le) | s16 (s16le)")
	headerless := fs.Bool("headerless", false, "the stream has no header: take --sr, --n-fft, --hop, --win-length, --window")
	sr := fs.Int("sr", 16000, "sample rate for --headerless (Hz)")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	pcm16 := fs.Bool("pcm16", false, "write a 16-bit PCM WAV instead of 32-bit float")
	if _, err := parseWithInput(fs, args, "synth"); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return badInput("synth: need --out")
	}
	if *format != "f32" && *format != "s16" {
		return badInput("synth: unknown --format %q (f32 | s16)", *format)
	}
	var r io.Reader = os.Stdin
	name := "stdin"
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
		hdr = framestream.Header{SampleRate: *sr, NFFT: stft.NFFT, Hop: stft.Hop, WinLength: stft.WinLength, Window: stft.Window}
	}
	fr, err := framestream.NewReader(r, *headerless, hdr)
	if err != nil {
		return badInput("%s: %v", name, err)
	}
	hdr = fr.Header()
	stft, _ := hdr.Config()
	cfg, err := ef.config(stft, hdr.SampleRate, false)
	if err != nil {
		return inputError{err}
	}
	e, err := stream.NewEngine(cfg)
	if err != nil {
		return inputError{err}
	}
	defer e.Close()

	skip := e.Latency().FileDelay
	if *ef.noCompensate {
		skip = 0
	}
	var samples []float64 // WAV output
	var raw *rawWriter
	if *out == "-" {
		raw = newRawWriter(os.Stdout, *format == "s16")
	}
	emit := func(v []float64) error {
		if skip > 0 {
			d := min(skip, len(v))
			v, skip = v[d:], skip-d
		}
		if raw != nil {
			return raw.write(v)
		}
		samples = append(samples, v...)
		return nil
	}
	mag := make([]float64, hdr.Bins())
	block := make([]float64, e.Hop())
	start := time.Now()
	var readErr error
	for {
		if err := fr.ReadFrame(mag); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = badInput("%s: %v", name, err)
			}
			break
		}
		if err := e.Push(block, mag); err != nil {
			return err
		}
		if err := emit(block); err != nil {
			return err
		}
	}
	if fr.Frames() == 0 { // header only, or a bad first frame: no output (docs/frame-stream.md)
		if readErr != nil {
			return readErr
		}
		return badInput("%s: the frame stream has no frames", name)
	}
	tail := make([]float64, e.FlushLen())
	e.Flush(tail)
	if err := emit(tail); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if raw == nil {
		enc := wav.Float32
		if *pcm16 {
			enc = wav.PCM16
		}
		if err := wav.Write(*out, hdr.SampleRate, [][]float64{samples}, enc); err != nil {
			return err
		}
	}
	rep := engineReport(e, hdr.SampleRate, float64(fr.Frames()*e.Hop())/float64(hdr.SampleRate), secs)
	rep["input"], rep["output"], rep["seconds"] = name, *out, secs
	report := os.Stdout
	if raw != nil {
		report = os.Stderr
	}
	if *ef.asJSON {
		if err := json.NewEncoder(report).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(report, "%s → %s: %d frames at %d Hz\n", name, *out, fr.Frames(), hdr.SampleRate)
		printReport(report, rep)
	}
	return readErr
}

type rawWriter struct {
	w   io.Writer
	s16 bool
	buf []byte
}

func newRawWriter(w io.Writer, s16 bool) *rawWriter { return &rawWriter{w: w, s16: s16} }

func (r *rawWriter) write(v []float64) error {
	r.buf = r.buf[:0]
	for _, s := range v {
		if r.s16 {
			q := math.Round(math.Max(-1, math.Min(1, s)) * 32767)
			r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(int16(q)))
		} else {
			r.buf = binary.LittleEndian.AppendUint32(r.buf, math.Float32bits(float32(s)))
		}
	}
	_, err := r.w.Write(r.buf)
	return err
}
