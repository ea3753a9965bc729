package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	if err := checkNFFT("", *f.nfft, 0); err != nil {
		return retrieval.Config{}, err
	}
	w, err := retrieval.ParseWindow(*f.window)
	if err != nil {
		return retrieval.Config{}, err
	}
	return retrieval.Config{NFFT: *f.nfft, Hop: *f.hop, WinLength: *f.winLength, Window: w, Framing: retrieval.Full}.Resolve()
}

// engineFlags are the streaming engine's options shared by stream and synth.
type engineFlags struct {
	fs                   *flag.FlagSet
	look, iters          *int
	future               *float64
	budget               *string
	optimizer, warm      *string
	seed                 *uint64
	noCompensate, asJSON *bool
}

func addEngineFlags(fs *flag.FlagSet) *engineFlags {
	return &engineFlags{
		fs:   fs,
		look: fs.Int("lookahead", 3, "look-ahead ℓ (frames)"),
		iters: fs.Int("iters-per-hop", stream.DefaultFileItersPerHop,
			"optimizer iterations per frame K in file mode (0: warm start only); fixed K gives the same output bytes run after run"),
		budget: fs.String("budget", "auto",
			"deadline mode: iterate while the hop's compute stays under this fraction of the hop duration (replaces --iters-per-hop);\n"+
				"\"auto\": "+fmt.Sprint(stream.DefaultRealtimeBudget)+" when paced in real time (live with a device, stream --realtime; shared by the channels)\n"+
				"unless --iters-per-hop is given, off for files; 0: off.\n"+
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
	if *f.iters < 0 {
		return c, fmt.Errorf("--iters-per-hop %d: want ≥ 0 iterations (0: warm start only)", *f.iters)
	}
	if *f.iters == 0 {
		c.ItersPerHop = -1
	}
	itersSet := false
	f.fs.Visit(func(fl *flag.Flag) { itersSet = itersSet || fl.Name == "iters-per-hop" })
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
	r := map[string]any{
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
	// The latencies (README, "Latency figures"); latency_* is the total, devices excluded, which
	// live's real-time mode replaces with file delay + buffering.
	for name, n := range map[string]int{"algorithmic_latency": lat.AudioToAudio, "frames_latency": lat.FramesToAudio,
		"file_delay": lat.FileDelay} {
		r[name+"_ms"], r[name+"_samples"] = 1000*float64(n)/float64(rate), n
	}
	return r
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
		fmt.Fprintf(w, "real-time pacing: %v xruns (output underruns)", v)
		if d, ok := r["input_dropped"]; ok {
			fmt.Fprintf(w, ", %v input samples dropped (silence in the output)", d)
		}
		fmt.Fprintln(w)
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

// channelPipes is one analysis → engine pipeline per channel, the interleaving of their outputs
// into the WAV writer, and the spectral-convergence meters.
type channelPipes struct {
	pipes  []*stream.Pipeline
	meters []*stream.SCMeter // nil without compensation
	bufs   [][]float64       // each channel's output not yet written
	w      *wav.Writer
	emits  []func([]float64) error
	closes []func()
	delay  int64       // leading zeros of the output (the file delay without compensation), else 0
	taken  [][]float64 // take's result, reused
}

func newChannelPipes(cfg stream.Config, nch int, compensate bool, length int64, w *wav.Writer) (*channelPipes, error) {
	cp := &channelPipes{w: w, bufs: make([][]float64, nch), taken: make([][]float64, nch)}
	for c := range nch {
		e, err := stream.NewEngine(cfg)
		if err != nil {
			cp.close()
			return nil, inputError{err}
		}
		cp.closes = append(cp.closes, e.Close)
		an, err := stream.NewAnalyzer(cfg.STFT)
		if err != nil {
			cp.close()
			return nil, inputError{err}
		}
		cp.closes = append(cp.closes, an.Close)
		p, err := stream.NewPipeline(e, an, compensate)
		if err != nil {
			cp.close()
			return nil, err
		}
		cp.pipes = append(cp.pipes, p)
		if !compensate {
			cp.delay = int64(e.Latency().FileDelay)
		}
		if compensate {
			m, err := stream.NewSCMeter(cfg.STFT, int(min(length, math.MaxInt32)))
			if err != nil {
				cp.close()
				return nil, inputError{err}
			}
			cp.closes = append(cp.closes, m.Close)
			cp.meters = append(cp.meters, m)
		}
		cp.emits = append(cp.emits, func(y []float64) error { cp.bufs[c] = append(cp.bufs[c], y...); return nil })
	}
	return cp, nil
}

func (cp *channelPipes) close() {
	for _, f := range cp.closes {
		f()
	}
}

// write feeds one block per channel (the same length) to the pipelines.
func (cp *channelPipes) write(block [][]float64) error {
	for c, p := range cp.pipes {
		if err := p.Write(block[c], cp.emits[c]); err != nil {
			return err
		}
	}
	return nil
}

// writeRef feeds one block of the input per channel to the meters.
func (cp *channelPipes) writeRef(block [][]float64) {
	for c, m := range cp.meters {
		m.WriteRef(block[c])
	}
}

// flush flushes every pipeline.
func (cp *channelPipes) flush() error {
	for c, p := range cp.pipes {
		if err := p.Flush(cp.emits[c]); err != nil {
			return err
		}
	}
	return nil
}

// take returns the output every channel has produced (the same count for all: the pipelines run
// in lockstep), to be written out; the next call reuses the buffers.
func (cp *channelPipes) take() [][]float64 {
	n := len(cp.bufs[0])
	for c := range cp.bufs {
		n = min(n, len(cp.bufs[c]))
	}
	for c := range cp.bufs {
		cp.taken[c] = cp.bufs[c][:n]
	}
	return cp.taken
}

// drop forgets the first n samples of every channel's buffer (after they were written).
func (cp *channelPipes) drop(n int) {
	for c := range cp.bufs {
		cp.bufs[c] = append(cp.bufs[c][:0], cp.bufs[c][n:]...)
	}
}

// writeOut writes the buffered output to the WAV file and the estimate meters.
func (cp *channelPipes) writeOut() error {
	y := cp.take()
	if len(y[0]) == 0 {
		return nil
	}
	if err := cp.w.Write(y); err != nil {
		return err
	}
	for c, m := range cp.meters {
		m.WriteEst(y[c])
	}
	cp.drop(len(y[0]))
	return nil
}

func (cp *channelPipes) sc() float64 {
	var scs []float64
	for _, m := range cp.meters {
		scs = append(scs, m.DB())
	}
	return mean(scs)
}

// runStream: WAV → analysis → engine → WAV, every channel, read and written block by block (memory
// independent of the input's length), optionally paced in real time.
func runStream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rephase stream IN.wav --out OUT.wav [options]\n\n"+
			"Analyses IN.wav hop by hop and resynthesises it with the streaming engine; the output is aligned\n"+
			"with the input (latency removed) unless --no-compensate. SIGINT/SIGTERM stop the run, drain the\n"+
			"engine and finalise the WAV of what was processed.\n\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output WAV file (required)")
	sf := addSTFTFlags(fs)
	ef := addEngineFlags(fs)
	realtime := fs.Bool("realtime", false, "pace the input through a ring buffer at the sample rate, as a device callback would, and count xruns and dropped input")
	pcm16 := fs.Bool("pcm16", false, "write 16-bit PCM instead of 32-bit float")
	in, err := parseWithInput(fs, args, "stream")
	if err != nil {
		return err
	}
	if in == "" || *out == "" {
		fs.Usage()
		return badInput("stream: need an input WAV and --out")
	}
	if err := checkOutput("--out", *out, in); err != nil {
		return err
	}
	r, err := openSignal(in)
	if err != nil {
		return err
	}
	defer r.Close()
	rate, nch, length := r.SampleRate(), r.Channels(), r.Len()
	stft, err := sf.config()
	if err != nil {
		return inputError{err}
	}
	if err := checkNFFT(in, stft.NFFT, int(min(length, math.MaxInt32))); err != nil {
		return err
	}
	cfg, err := ef.config(stft, rate, *realtime)
	if err != nil {
		return inputError{err}
	}
	if *realtime {
		cfg.Budget /= float64(nch) // one worker runs every channel's engine within the hop
	}
	enc := wav.Float32
	if *pcm16 {
		enc = wav.PCM16
	}
	w, err := wav.NewWriter(*out, rate, nch, enc)
	if err != nil {
		return err
	}
	defer w.Close() // removes the temporary file unless committed
	cp, err := newChannelPipes(cfg, nch, !*ef.noCompensate, length, w)
	if err != nil {
		return err
	}
	defer cp.close()
	ctx, stop := interruptContext()
	defer stop()

	start := time.Now()
	var pr pacedReport
	interrupted := false
	if *realtime {
		pr, err = pacedResynthesis(ctx, cp, r, in)
		interrupted = pr.interrupted
	} else {
		interrupted, err = fileResynthesis(ctx, cp, r)
	}
	if err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	e := cp.pipes[0].Engine()
	samples := cp.pipes[0].Samples()
	rep := engineReport(e, rate, float64(samples*nch)/float64(rate), secs)
	rep["input"], rep["output"], rep["channels"], rep["seconds"] = in, *out, nch, secs
	rep["output_samples"] = w.Frames()
	if *pcm16 {
		rep["clipped_samples"] = w.Clipped()
		if w.Clipped() > 0 {
			fmt.Fprintf(os.Stderr, "rephase: %s: --pcm16 clipped %d samples\n", *out, w.Clipped())
		}
	}
	if cp.meters != nil && !interrupted {
		rep["sc_db"] = cp.sc()
	}
	if *realtime {
		rep["xruns"], rep["input_dropped"] = pr.xruns, pr.dropped
		rep["rtf"] = nil // paced: wall time equals audio time by construction
	}
	if interrupted {
		rep["interrupted"] = true
	}
	if *ef.asJSON {
		return writeJSON(os.Stdout, rep)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz, %.3f s\n", in, *out, nch, w.Frames(), rate, secs)
	if *realtime {
		rep["rtf"] = math.NaN()
	}
	printReport(os.Stdout, rep)
	if interrupted {
		fmt.Println("interrupted: engine drained, output finalised")
	}
	return nil
}

// fileResynthesis streams r through the pipelines as fast as they go, block by block, until the
// end of the file or ctx's cancellation (reported), then flushes them.
func fileResynthesis(ctx context.Context, cp *channelPipes, r *wav.Reader) (interrupted bool, err error) {
	block := make([][]float64, r.Channels())
	for c := range block {
		block[c] = make([]float64, streamBlock)
	}
	for ctx.Err() == nil {
		n, err := r.Read(block)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, inputError{err}
		}
		for c := range block {
			block[c] = block[c][:n]
		}
		if err := cp.write(block); err != nil {
			return false, err
		}
		cp.writeRef(block)
		if err := cp.writeOut(); err != nil {
			return false, err
		}
		for c := range block {
			block[c] = block[c][:streamBlock]
		}
	}
	interrupted = ctx.Err() != nil
	if err := cp.flush(); err != nil {
		return interrupted, err
	}
	return interrupted, cp.writeOut()
}

// pacedReport is what a paced run counts.
type pacedReport struct {
	xruns       uint64 // output underruns (hops)
	dropped     int64  // input samples per channel lost because the input ring was full
	interrupted bool
}

// gap is input the producer dropped: n samples per channel, lost after the first at samples per
// channel that reached the ring.
type gap struct{ at, n int64 }

// pacedResynthesis feeds r through a ring buffer at the sample rate (a producer goroutine writing
// one hop of every channel per hop duration, as an input callback would), runs analysis and
// engines on a worker reading that ring, writes the output into a second ring drained at the
// sample rate by a consumer goroutine (an output callback), and counts the consumer's underruns
// (xruns). A hop that finds the input ring full is dropped whole and counted (a device whose
// worker cannot keep up loses input the same way); the output keeps the input's length, with
// silence where the input was lost. The output (and the spectral-convergence reference, read from
// in a second time) is written as the worker produces it. When ctx is cancelled or the worker
// fails, the producer stops at once.
func pacedResynthesis(ctx context.Context, cp *channelPipes, r *wav.Reader, in string) (pacedReport, error) {
	var rep pacedReport
	nch, rate := r.Channels(), r.SampleRate()
	hop := cp.pipes[0].Engine().Hop()
	length := r.Len()
	period := time.Duration(float64(hop) / float64(rate) * float64(time.Second))
	frame := hop * nch // one hop of every channel, interleaved
	inP, inC := ringbuffer.New(16 * frame)
	outP, outC := ringbuffer.New(16 * frame)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reference for the spectral convergence: the input file read a second time, in step
	// with the output.
	var ref *wav.Reader
	var refBlock [][]float64
	if cp.meters != nil {
		var err error
		if ref, err = openAudio(in); err != nil {
			return rep, err
		}
		defer ref.Close()
		refBlock = make([][]float64, nch)
	}
	var gapMu sync.Mutex
	var gaps []gap // in order of at; the worker consumes them
	var dropped atomic.Int64
	var readErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // input "callback"
		defer wg.Done()
		defer inP.Close()
		block := make([][]float64, nch)
		for c := range block {
			block[c] = make([]float64, hop)
		}
		buf := make([]float32, frame)
		var written int64 // samples per channel in the ring so far
		timer := time.NewTimer(0)
		<-timer.C
		next := time.Now()
		for {
			n, err := r.Read(block)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				readErr = err
				cancel()
				return
			}
			for i := range hop {
				for c := range nch {
					v := 0.0
					if i < n {
						v = block[c][i]
					}
					buf[i*nch+c] = float32(v) // a device delivers whole buffers: silence after the end
				}
			}
			if inP.Free() >= frame {
				inP.Write(buf)
				written += int64(n)
			} else { // the worker is behind: this hop is lost
				dropped.Add(int64(n))
				gapMu.Lock()
				if k := len(gaps) - 1; k >= 0 && gaps[k].at == written {
					gaps[k].n += int64(n)
				} else {
					gaps = append(gaps, gap{written, int64(n)})
				}
				gapMu.Unlock()
			}
			if r.Pos() >= length {
				return
			}
			next = next.Add(period)
			timer.Reset(time.Until(next))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
	}()
	var xruns atomic.Uint64
	var workerDone atomic.Bool
	go func() { // output "callback": starts one hop after the first output, then one hop per period
		defer wg.Done()
		buf := make([]float32, frame)
		for outC.Available() < frame && !workerDone.Load() {
			time.Sleep(period / 16)
		}
		// Half a period of margin against scheduling jitter, within the one hop of block
		// buffering that Latency().AudioToAudio counts.
		next := time.Now().Add(period / 2)
		time.Sleep(period / 2)
		for {
			done := workerDone.Load() // before reading: whatever the worker wrote is visible
			if outC.Read(buf) < frame {
				if done {
					return
				}
				xruns.Add(1)
			}
			next = next.Add(period)
			time.Sleep(time.Until(next))
		}
	}()

	var outPos int64 // output samples per channel written
	// ringPos is the output's position in the ring's (the input's) time, gaps excluded: without
	// compensation the output starts with cp.delay zeros that precede the input.
	ringPos := -cp.delay
	var out32 []float32
	// emit writes y (per channel) to the file, the meters (with the reference read alongside) and
	// the output ring, up to the output's length: the input's plus the leading zeros (the
	// producer zero-pads the last hop).
	emit := func(y [][]float64) error {
		n := int(max(0, min(int64(len(y[0])), length+cp.delay-outPos)))
		if n == 0 {
			return nil
		}
		for c := range y {
			y[c] = y[c][:n]
		}
		if err := cp.w.Write(y); err != nil {
			return err
		}
		if ref != nil {
			for c := range refBlock {
				refBlock[c] = slices.Grow(refBlock[c][:0], n)[:n]
			}
			if _, err := ref.Read(refBlock); err != nil {
				return err
			}
			cp.writeRef(refBlock)
			for c, m := range cp.meters {
				m.WriteEst(y[c])
			}
		}
		out32 = slices.Grow(out32[:0], n*nch)[:n*nch]
		for c := range y {
			for i, v := range y[c] {
				out32[i*nch+c] = float32(v)
			}
		}
		outP.Write(out32)
		outPos += int64(n)
		return nil
	}
	zeros := make([][]float64, nch)
	part := make([][]float64, nch)
	// write passes y (per channel, the output for ring samples [ringPos, ringPos+len)) to emit,
	// with the silence of every gap it reaches spliced in where the input was lost.
	write := func(y [][]float64) error {
		for {
			gapMu.Lock()
			var g gap
			has := len(gaps) > 0
			if has {
				g = gaps[0]
			}
			gapMu.Unlock()
			k := int64(len(y[0]))
			if has {
				k = min(k, g.at-ringPos)
			}
			for c := range y {
				part[c], y[c] = y[c][:k], y[c][k:]
			}
			if err := emit(part); err != nil {
				return err
			}
			ringPos += k
			if !has || ringPos < g.at {
				return nil
			}
			for c := range zeros {
				if int64(len(zeros[c])) < g.n {
					zeros[c] = make([]float64, g.n)
				}
				part[c] = zeros[c][:g.n]
			}
			if err := emit(part); err != nil {
				return err
			}
			gapMu.Lock()
			gaps = gaps[1:]
			gapMu.Unlock()
		}
	}
	// The worker.
	in32 := make([]float32, frame)
	block := make([][]float64, nch)
	for c := range block {
		block[c] = make([]float64, hop)
	}
	var err error
	for err == nil {
		n, done := inC.ReadFull(in32)
		for c := range block {
			block[c] = block[c][:n/nch]
			for i := range block[c] {
				block[c][i] = float64(in32[i*nch+c])
			}
		}
		if err = cp.write(block); err == nil {
			y := cp.take()
			n := len(y[0])
			err = write(y)
			cp.drop(n)
		}
		if done {
			break
		}
	}
	stopped := ctx.Err() != nil
	if err == nil {
		if err = cp.flush(); err == nil {
			err = write(cp.take())
		}
	}
	workerDone.Store(true)
	cancel() // stops the producer at once if the worker failed
	inC.Close()
	wg.Wait() // readErr is the producer's until it is done
	rep.interrupted = stopped && readErr == nil && err == nil
	if readErr != nil {
		return rep, inputError{readErr}
	}
	if err != nil {
		return rep, err
	}
	rep.xruns, rep.dropped = xruns.Load(), dropped.Load()
	return rep, nil
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
			"Writes the STFT magnitudes of IN.wav (channels mixed to mono) as a frame stream (docs/frame-stream.md),\n"+
			"or with --format npy as a float32 .npy of bins × frames, as np.abs(librosa.stft(y)) (default for --out *.npy).\n\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "-", "output file (- for stdout)")
	headerless := fs.Bool("headerless", false, "omit the header (the reader must be given the parameters)")
	format := fs.String("format", "", "output format: frames (the frame stream) | npy (bins × frames float32); default npy for --out *.npy, else frames")
	sf := addSTFTFlags(fs)
	in, err := parseWithInput(fs, args, "analyze")
	if err != nil {
		return err
	}
	if in == "" {
		fs.Usage()
		return badInput("analyze: need an input WAV")
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
	if asNpy, err := npyFormat(*format, *out); err != nil || asNpy {
		if err != nil {
			return err
		}
		return analyzeNpy(o, r, stft)
	}
	fw, err := framestream.NewWriter(o, framestream.Header{SampleRate: r.SampleRate(), NFFT: stft.NFFT, Hop: stft.Hop, WinLength: stft.WinLength,
		Window: stft.Window, Symmetric: stft.Symmetric, Length: r.Len()}, *headerless)
	if err != nil {
		return inputError{err}
	}
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
	for ctx.Err() == nil {
		n, err := r.Read(block)
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
		if err := an.Write(x[:n], fw.WriteFrame); err != nil {
			return err
		}
		for c := range block {
			block[c] = block[c][:streamBlock]
		}
	}
	// Interrupted or not, the frames of what was read are finished and the output completed.
	if err := an.Flush(fw.WriteFrame); err != nil {
		return err
	}
	if err := fw.Flush(); err != nil {
		return err
	}
	return o.commit()
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
	headerless := fs.Bool("headerless", false, "the stream has no header: take --sr, --n-fft, --hop, --win-length, --window, --center")
	sr := fs.Int("sr", 16000, "sample rate for --headerless (Hz)")
	center := fs.Bool("center", false, "for --headerless: frames are centred on m·hop, as torch.stft(center=True) and librosa write them")
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

	// Compensation aligns the output with the analysed signal: the engine's delay, less the
	// Advance of centre-framed frames; and it trims the output to the signal's length when the
	// header carries it (docs/frame-stream.md).
	skip, keep := e.Latency().FileDelay-hdr.Advance(), int64(-1) // keep: samples still to write, −1 unbounded
	if hdr.Length > 0 {
		keep = hdr.Length
	}
	if *ef.noCompensate {
		skip, keep = 0, -1
	}
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
		if skip > 0 {
			d := min(skip, len(v))
			v, skip = v[d:], skip-d
		}
		if keep >= 0 {
			v = v[:min(int64(len(v)), keep)]
			keep -= int64(len(v))
		}
		if raw != nil {
			return raw.write(v)
		}
		return wout.Write([][]float64{v})
	}
	ctx, stop := interruptContext()
	defer stop()
	frames := readFrames(ctx, fr)
	block := make([]float64, e.Hop())
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
		err := e.Push(block, f.mag)
		frames.free <- f.mag
		if err != nil {
			return err
		}
		if err := emit(block); err != nil {
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
	tail := make([]float64, e.FlushLen())
	e.Flush(tail)
	if err := emit(tail); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if wout != nil {
		if err := wout.Commit(); err != nil {
			return err
		}
	}
	nframes := int(e.Stats().Frames)
	rep := engineReport(e, hdr.SampleRate, float64(nframes*e.Hop())/float64(hdr.SampleRate), secs)
	rep["input"], rep["output"], rep["seconds"] = name, *out, secs
	if interrupted {
		rep["interrupted"] = true
	}
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
		printReport(report, rep)
		if interrupted {
			fmt.Fprintln(report, "interrupted: engine drained, output finalised")
		}
	}
	return readErr
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
		if math.IsNaN(s) || math.IsInf(s, 0) {
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
