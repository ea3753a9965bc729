package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/rephase/rephase/internal/plots"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
	"github.com/rephase/rephase/stream/npy"
	"github.com/rephase/rephase/stream/wav"
)

func runInvert(args []string) error {
	if melInvocation(args) { // mel, power or log spectrograms: invert_mel.go
		return runInvertMel(args)
	}
	fs := newFlagSet("invert", "invert IN.{wav,npy} --out OUT.wav [options]",
		"A WAV input is analysed (each channel) and its magnitudes inverted, with rel_l2 against it;\n"+
			"an .npy input holds magnitudes (bins × frames as librosa writes them, or --frames-first).\n"+
			"With --tfr cwt the WAV's scalogram is inverted instead (defaults then: --method lbfgs,\n"+
			"--init noise, --iters 100, --tol 1e-5). A mel, power or log spectrogram (.npy with --n-mels,\n"+
			"--preset, --power or --log) has its own flags: rephase invert --n-mels 80 --help.")
	out := fs.StringP("out", "o", "", "output WAV `FILE` (required; - for stdout)")
	method := fs.String("method", "auto", methodUsage)
	optimizer := fs.String("optimizer", "", optimizerUsage)
	iters := fs.Int("iters", 100, "maximum iterations (0: none, the initial signal itself; --init pghi --iters 0 is PGHI alone)")
	tol := fs.Float64("tol", 1e-4, "stop when the normalised inconsistency falls below this (≤ 0: never)")
	var initVal retrieval.Init
	fs.TextVar(&initVal, "init", retrieval.InitZero, "initial phase: zero | random | pghi | noise (a random signal, the default of --tfr cwt); --method auto starts from pghi for zero")
	lr := fs.Float64("lr", 0, "learning rate of adam (in units of the signal's RMS) / sgdm (in Griffin-Lim steps, below "+fmt.Sprint(maxSGDMRate)+") (0: default)")
	alpha := fs.Float64("alpha", 0, "fast Griffin-Lim extrapolation, 0 < α ≤ 1 (0: the method's, 0.99; 0.995 for auto)")
	nfft := fs.Int("n-fft", 512, "n_fft (samples)")
	hop := fs.Int("hop", 0, "hop length (samples; 0: win_length/4)")
	winLength := fs.Int("win-length", 0, "window length (samples; 0: n_fft)")
	var window retrieval.Window
	fs.TextVar(&window, "window", retrieval.Hann, windowUsage)
	center := fs.Bool("center", true, "center framing (librosa/torch center=True); false: inner framing (center=False)")
	pad := fs.String("pad-mode", "reflect", "padding of center framing: reflect | zero (librosa ≥ 0.10 uses zero)")
	compress := fs.Float64("compress", 1, "loss on |X|^γ, 0 < γ ≤ 1")
	sr := fs.Int("sr", 16000, "sample rate of .npy input (Hz)")
	length := fs.Int("length", 0, "signal length for .npy input (samples; 0: (frames−1)·hop for center framing)")
	framesFirst := fs.Bool("frames-first", false, ".npy input is frames × bins (torch layout after .T) instead of bins × frames")
	seed := fs.Uint64("seed", 1, "random seed")
	display := fs.Bool("display", false, "print MATLAB's iteration table to stderr")
	pcm16 := fs.Bool("pcm16", false, "write 16-bit integer PCM instead of 32-bit float (samples beyond full scale are clipped and counted)")
	normalize := fs.Bool("normalize", false, "scale the output so that its peak is −1 dBFS (0.891)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	progress := fs.String("progress", "auto", "progress bar on stderr: auto (inputs over 10 s, when stderr is a terminal) | on | off")
	plotPath := fs.String("plot", "", "also draw the original, reconstruction and error spectrograms (dB) and the convergence curve of the first channel into this PNG `FILE`")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads for the gradient (frames or scales split across them; inputs too short to gain use 1). "+
		"For a given count the output is the same to the bit from run to run; 1 gives the single-threaded output")
	precision := fs.String("precision", "auto", precisionUsage+" (STFT magnitudes; --tfr cwt and scattering compute in float64 and refuse float32)")
	tfr := fs.String("tfr", "stft", "time-frequency representation to invert: stft | cwt (scalogram, like MATLAB's cwtmag2sig) | scattering (Kymatio's Scattering1D)")
	var cf cwtFlags
	cf.register(fs)
	var sf scatteringFlags // --tfr scattering: invert_scattering.go
	sf.register(fs)
	// Accept flags after the positional input as well as before it.
	in, err := parseWithInput(fs, args, "invert")
	if err != nil {
		return err
	}
	if in == "" || *out == "" {
		return badInput("invert: need an input file and --out")
	}
	def := ""
	if *tfr == "cwt" || *tfr == "scattering" {
		def = "lbfgs"
	}
	if *method, err = resolveMethod(fs, *method, *optimizer, def, os.Stderr); err != nil {
		return err
	}
	switch *tfr {
	case "stft":
	case "cwt":
		set := map[string]bool{}
		fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
		if !set["init"] {
			initVal = retrieval.InitNoise
		}
		if !set["tol"] {
			*tol = 1e-5
		}
		if !set["iters"] {
			*iters = 100 // 1.4 s of 16 kHz speech in about 8 s on one core (benchmarks/REPORT.md)
		}
	case "scattering":
		scatteringDefaults(fs, &initVal, iters, nfft, hop)
	default:
		return badInput("invert: unknown --tfr %q (stft | cwt | scattering)", *tfr)
	}
	if *tfr != "stft" && fs.Changed("precision") && !strings.EqualFold(strings.TrimSpace(*precision), "auto") {
		p, err := parsePrecision(*precision, retrieval.LBFGS)
		if err != nil {
			return badInput("invert: %v", err)
		}
		if p != fft.Float64 {
			return badInput("invert: --precision %s: --tfr %s computes in float64 (float32 frame passes are for STFT magnitudes)", *precision, *tfr)
		}
	}
	if *threads < 1 {
		return badInput("invert: --threads %d: want ≥ 1", *threads)
	}
	common := invertCommon{method: *method, init: initVal,
		iters: *iters, tol: *tol, lr: *lr, alpha: *alpha, seed: *seed, display: *display, pcm16: *pcm16, normalize: *normalize,
		json: *asJSON, nfft: *nfft, hop: *hop, threads: *threads}
	if *tfr == "scattering" { // its own checks: --lr is torch's SGD lr there, not in Griffin-Lim steps
		return runInvertScattering(in, *out, sf, common)
	}
	if err := common.validate(); err != nil {
		return err
	}
	if err := checkOutput("--out", *out, in, cf.initial); err != nil {
		return err
	}
	if *tfr == "cwt" {
		return runInvertCWT(in, *out, cf, common)
	}
	if *tfr == "stft" && strings.EqualFold(filepath.Ext(in), ".npy") {
		set := map[string]bool{}
		fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
		if err := npyDefaults(in, set, nfft, sr, *framesFirst); err != nil {
			return err
		}
	}
	cfg := retrieval.Config{NFFT: *nfft, Hop: *hop, WinLength: *winLength, Window: window}
	if !*center {
		cfg.Framing = retrieval.Inner
	}
	switch *pad {
	case "reflect":
	case "zero", "constant":
		cfg.Pad = retrieval.Zero
	default:
		return badInput("invert: unknown --pad-mode %q", *pad)
	}
	if cfg, err = cfg.Resolve(); err != nil {
		return inputError{err}
	}
	opt := retrieval.Options{MaxIter: *iters, Tol: *tol, Alpha: *alpha, LearningRate: *lr, Seed: *seed, Threads: *threads}
	if opt.Optimizer, err = retrieval.ParseOptimizer(*method); err != nil {
		return inputError{err}
	}
	opt.Init = initVal
	loss := retrieval.Loss{Compress: *compress}

	// Inputs: per channel, target magnitudes (.npy), or the WAV channel whose magnitudes are
	// computed as the file is read (the signal is never held whole; it is read again at the end
	// for rel_l2).
	type job struct {
		mag     []float64
		channel int // of the WAV input, when mag is nil
	}
	var jobs []job
	var rate, sigLen int
	switch strings.ToLower(filepath.Ext(in)) {
	case ".npy":
		if err := wav.CheckSampleRate(*sr); err != nil {
			return badInput("invert: --sr: %v", err)
		}
		mag, frames, err := readMagnitudes(in, cfg.Bins(), *framesFirst)
		if err != nil {
			return withLinearHint(err)
		}
		warnLinearScale(os.Stderr, in, mag)
		rate = *sr
		sigLen = *length
		if sigLen == 0 {
			switch cfg.Framing {
			case retrieval.Center:
				sigLen = (frames - 1) * cfg.Hop
			default:
				sigLen = (frames-1)*cfg.Hop + cfg.NFFT
			}
		}
		if cfg.Frames(sigLen) != frames {
			return badInput("%s: %d frames do not match a %d-sample signal (%d frames); set --length", in, frames, sigLen, cfg.Frames(sigLen))
		}
		jobs = append(jobs, job{mag: mag})
	default:
		r, err := openSignal(in)
		if err != nil {
			return err
		}
		rate, sigLen = r.SampleRate(), int(r.Len())
		for c := range r.Channels() {
			jobs = append(jobs, job{channel: c})
		}
		r.Close()
	}
	if opt.Optimizer == retrieval.Auto && !fs.Changed("method") && *optimizer == "" && sigLen > autoMaxSamples {
		opt.Optimizer = retrieval.FGLA // the default on long inputs: FGLA's 40 bytes per sample
		fmt.Fprintf(os.Stderr, "rephase: %s: %d samples per channel, over the default method auto's %d: using fgla (40 bytes per sample instead of about 270; --method auto to insist)\n",
			in, sigLen, autoMaxSamples)
	}
	if opt.Precision, err = parsePrecision(*precision, opt.Optimizer); err != nil {
		return badInput("invert: %v", err)
	}
	if err := checkNFFT(in, cfg.NFFT, sigLen); err != nil {
		return err
	}
	s, err := retrieval.NewSTFT(cfg, sigLen)
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", in, err)}
	}
	defer s.Close()

	showBar := false
	switch *progress {
	case "on":
		showBar = true
	case "off":
	case "auto":
		showBar = !*display && sigLen > 10*rate && term.IsTerminal(int(os.Stderr.Fd()))
	default:
		return badInput("invert: unknown --progress %q (auto | on | off)", *progress)
	}
	var bar *progressbar.ProgressBar
	if showBar {
		bar = progressbar.NewOptions(len(jobs)*opt.MaxIter, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("inverting"), progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("it"), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	var outs [][]float64
	var scs, rels []float64
	totalIters := 0
	var stop retrieval.StopReason
	threadsUsed := 1 // the threads the last channel's gradient used (Problem.Threads)
	start := time.Now()
	for c, j := range jobs {
		wavInput := j.mag == nil
		if wavInput {
			if j.mag, err = channelMagnitudes(s, in, j.channel); err != nil {
				return err
			}
		}
		p, err := retrieval.NewProblem(s, j.mag, loss)
		if err != nil {
			var me *retrieval.MagnitudeError
			if errors.As(err, &me) {
				return badInput("%s: %v", in, err)
			}
			return inputError{err}
		}
		var conv plots.Convergence
		opt.Progress = nil
		if *display || (*plotPath != "" && c == 0) {
			if *display {
				fmt.Fprintf(os.Stderr, "channel %d\n#Iteration  |  Normalized Inconsistency  \n", c)
			}
			conv.Label = "normalised inconsistency (dB)"
			display, plotting := *display, *plotPath != "" && c == 0
			opt.Progress = func(it int, inc float64) {
				if display {
					fmt.Fprintf(os.Stderr, "%7d     |  %.4e \n", it, inc)
				}
				if plotting {
					conv.Points = append(conv.Points, plots.Point{Iteration: it, Value: inc})
				}
			}
		}
		if bar != nil {
			done := c * opt.MaxIter
			opt.OnIteration = func(it int) { bar.Set(done + it) }
		}
		res, err := retrieval.Invert(p, opt) // --iters 0: the initial signal
		if err != nil {
			return err
		}
		if *display {
			fmt.Fprintf(os.Stderr, "Decomposition process stopped: %v after %d iterations (inconsistency %.4e, tolerance %g).\n",
				res.Stop, res.Iterations, res.Inconsistency, *tol)
		}
		outs = append(outs, res.Signal)
		scs = append(scs, retrieval.DB(p.SpectralConvergence(res.Signal)))
		if *plotPath != "" && c == 0 {
			sp := plots.Spectra{STFT: cfg, SampleRate: rate, Original: j.mag, Output: s.Magnitude(nil, res.Signal)}
			if err := writePlot(*plotPath, in, func(w io.Writer) error { return plots.WriteInversion(w, sp, conv) }); err != nil {
				return err
			}
		}
		threadsUsed = p.Threads()
		p.Close()
		if wavInput {
			rel, err := channelRelativeL2(in, j.channel, res.Signal)
			if err != nil {
				return err
			}
			rels = append(rels, rel)
		}
		totalIters += res.Iterations
		stop = res.Stop
	}
	secs := time.Since(start).Seconds()
	enc := wav.Float32
	if *pcm16 {
		enc = wav.PCM16
	}
	level, err := writeOutput(*out, rate, outs, enc, *normalize, "lower --lr, or --alpha")
	if err != nil {
		return err
	}
	iterPerChannel := totalIters / len(jobs)
	result := map[string]any{
		"input": in, "output": *out, "method": opt.Optimizer.String(), "init": reportedInit(opt).String(),
		"iterations": iterPerChannel, "stop": stop.String(), "seconds": secs,
		"ms_per_iteration": msPerIteration(secs, totalIters), "threads": threadsUsed, "precision": opt.Precision.String(),
		"sc_db": mean(scs), "channels": len(jobs), "sample_rate": rate, "samples": sigLen,
		"n_fft": cfg.NFFT, "hop_length": cfg.Hop, "win_length": cfg.WinLength, "window": cfg.Window.String(),
	}
	if rels != nil {
		result["rel_l2"] = mean(rels)
	}
	level.report(result)
	if *asJSON {
		return writeJSON(os.Stdout, result)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz\n", in, *out, len(jobs), sigLen, rate)
	msIter := "-"
	if totalIters > 0 {
		msIter = fmt.Sprintf("%.3f", msPerIteration(secs, totalIters))
	}
	fmt.Printf("method %s, init %s, %d iterations (%s), %.3f s, %s ms/iteration, %s\n", opt.Optimizer, reportedInit(opt), iterPerChannel, stop, secs, msIter, opt.Precision)
	fmt.Printf("spectral convergence %.2f dB", mean(scs))
	if rels != nil {
		fmt.Printf("; waveform error (sign-aligned) %.4f", mean(rels))
	}
	fmt.Println()
	level.print()
	return nil
}

// channelMagnitudes returns the STFT magnitudes (s.Frames() × s.Bins()) of channel c of the
// WAV or FLAC input in, computed as the file is read (retrieval.STFT.MagnitudeFrom): one block of
// samples is held at a time, never the whole signal.
func channelMagnitudes(s *retrieval.STFT, in string, c int) ([]float64, error) {
	r, err := openSignal(in)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	mag, err := s.MagnitudeFrom(nil, channelReader(r, c))
	if err != nil {
		return nil, inputError{err}
	}
	return mag, nil
}

// channelRelativeL2 returns retrieval.RelativeL2 of est against channel c of the input in,
// reading the input again block by block.
func channelRelativeL2(in string, c int, est []float64) (float64, error) {
	r, err := openSignal(in)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	read := channelReader(r, c)
	ref := make([]float64, streamBlock)
	var m retrieval.RelativeL2Meter
	for pos := 0; pos < len(est); {
		k, err := read(ref[:min(len(ref), len(est)-pos)])
		if err == io.EOF {
			err = fmt.Errorf("%s: ended after %d samples when read again for rel_l2 (want %d)", in, pos, len(est))
		}
		if err != nil {
			return 0, inputError{err}
		}
		m.Add(ref[:k], est[pos:pos+k])
		pos += k
	}
	return m.Value(), nil
}

// channelReader returns a function that reads the next samples of channel c of r into its
// argument (at most streamBlock at a time) and returns how many, or 0 and io.EOF at the end:
// the source retrieval.STFT.MagnitudeFrom takes.
func channelReader(r *wav.Reader, c int) func(p []float64) (int, error) {
	block := make([][]float64, r.Channels())
	for i := range block {
		block[i] = make([]float64, streamBlock)
	}
	return func(p []float64) (int, error) {
		n := min(len(p), streamBlock)
		for i := range block {
			block[i] = block[i][:n]
		}
		k, err := r.Read(block)
		if err != nil {
			return 0, err
		}
		return copy(p, block[c][:k]), nil
	}
}

// methodUsage and optimizerUsage are the help of invert's --method and of the deprecated
// --optimizer (which --method replaces: the offline and streaming optimizers share one
// vocabulary, retrieval.Optimizer).
const (
	methodUsage = "auto (the default: PGHI → difference map → FGLA → L-BFGS, the best quality per second; " +
		"about 270 bytes of peak memory per input sample, so inputs over 2^20 samples per channel use fgla, 40) | " +
		"fgla | gla | lbfgs | adam | sgdm (gd: deprecated, with --optimizer)"
	optimizerUsage = "deprecated: --method lbfgs | adam | sgdm (with --method gd: the gradient optimizer; default lbfgs)"
)

// resolveMethod returns the optimizer named by invert's --method (method) and the deprecated
// --optimizer (optimizer; "" when not given) of fs: --method gd means --optimizer's optimizer
// (L-BFGS by default), an --optimizer without --method (or equal to it) means that optimizer,
// and both print a deprecation line on warn; neither flag given means def when it is not "".
// It returns an input error for an unknown name or an --optimizer that contradicts --method.
func resolveMethod(fs *pflag.FlagSet, method, optimizer, def string, warn io.Writer) (string, error) {
	methodSet := fs.Changed("method")
	switch {
	case strings.EqualFold(strings.TrimSpace(method), "gd"):
		if optimizer == "" {
			optimizer = "lbfgs"
		}
		method = optimizer
		fmt.Fprintf(warn, "rephase: --method gd is deprecated and will be removed: use --method %s\n", strings.ToLower(method))
	case optimizer != "":
		if methodSet && !strings.EqualFold(strings.TrimSpace(method), strings.TrimSpace(optimizer)) {
			return "", badInput("--optimizer %s contradicts --method %s: --method names the optimizer (fgla | gla | lbfgs | adam | sgdm)", optimizer, method)
		}
		method = optimizer
		fmt.Fprintf(warn, "rephase: --optimizer is deprecated and will be removed: use --method %s\n", strings.ToLower(method))
	case !methodSet && def != "":
		method = def
	}
	o, err := retrieval.ParseOptimizer(method)
	if err != nil {
		return "", inputError{err}
	}
	return o.String(), nil
}

// reportedInit is the start Invert uses for opt: auto starts from PGHI when Init is zero phase.
func reportedInit(opt retrieval.Options) retrieval.Init {
	if opt.Optimizer == retrieval.Auto && opt.Init == retrieval.InitZero {
		return retrieval.InitPGHI
	}
	return opt.Init
}

// autoMaxSamples is the longest input (samples per channel) that invert's default method, auto,
// runs on: auto's L-BFGS stage, PGHI and difference map take about 270 bytes of peak memory per
// input sample (retrieval/hybrid.go), so 2^20 samples (22 s at 48 kHz, 65 s at 16 kHz) peak near
// 280 MB; longer inputs get FGLA, 40 bytes per sample (benchmarks/REPORT.md, "Memory against
// input length"). An explicit --method auto is always honoured.
const autoMaxSamples = 1 << 20

// maxSGDMRate bounds SGDM's learning rate: heavy-ball momentum β converges on a quadratic of
// curvature ≤ L only for steps below 2·(1 + β)/L, and after the preconditioner a unit step is a
// Griffin-Lim step, the minimiser of a majoriser of curvature 1; with retrieval's β = 0.9 that is
// 3.8. Measured on a 1 s chirp (n_fft 256): lr 3.7 stays bounded (peak 3.6 after 500
// iterations), lr 3.9 reaches a peak of 5.8e10 in 100 iterations and 3e58 in 500; --lr 1e6 wrote
// ±Inf samples. (Rates from 3 up are bounded but useless: SC above 0 dB.)
const maxSGDMRate = 2 * (1 + 0.9)

// validate checks the numeric flags the STFT and scalogram paths share, as input errors (exit
// status 2) naming the flag: --iters ≥ 0, a finite --tol, 0 < --alpha ≤ 1, a finite --lr ≥ 0
// (below maxSGDMRate for SGDM), and an even --n-fft ≥ 2 (checkNFFT).
func (o invertCommon) validate() error {
	switch {
	case o.iters < 0:
		return badInput("invert: --iters %d: want ≥ 0 (0: the initial signal, no iteration)", o.iters)
	case math.IsNaN(o.tol) || math.IsInf(o.tol, 0):
		return badInput("invert: --tol %v: want a finite tolerance (≤ 0: never stop early)", o.tol)
	case o.alpha != 0 && !(o.alpha > 0 && o.alpha <= 1):
		return badInput("invert: --alpha %v: want 0 < α ≤ 1 (FGLA's extrapolation; --method gla is α = 0)", o.alpha)
	case !(o.lr >= 0) || math.IsInf(o.lr, 0):
		return badInput("invert: --lr %v: want a finite learning rate ≥ 0 (0: the optimizer's default)", o.lr)
	case strings.EqualFold(o.method, "sgdm") && o.lr >= maxSGDMRate:
		return badInput("invert: --lr %v: SGDM diverges from %.2g Griffin-Lim steps on (momentum 0.9); want 0 < lr < %.2g", o.lr, maxSGDMRate, maxSGDMRate)
	}
	return checkNFFT("", o.nfft, 0)
}

// checkNFFT refuses (exit status 2) an --n-fft below 2 or odd (the flag has no "0: default"),
// and, when length > 0, one longer than the signal of the input in (length samples per
// channel): its frames would hold little but padding, and FFTW alone spent over 120 s planning
// n_fft 2^22 for a short file. Every command with an --n-fft flag calls it.
func checkNFFT(in string, nfft, length int) error {
	if nfft < 2 || nfft%2 != 0 {
		return badInput("--n-fft %d: want an even number of samples ≥ 2", nfft)
	}
	if length > 0 && nfft > length {
		return badInput("%s: --n-fft %d is longer than the signal (%d samples)", in, nfft, length)
	}
	return nil
}

// msPerIteration is the reported time per iteration; NaN (null in JSON) for zero iterations.
func msPerIteration(secs float64, iters int) float64 {
	if iters == 0 {
		return math.NaN()
	}
	return 1000 * secs / float64(iters)
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / math.Max(1, float64(len(v)))
}

// readMagnitudes reads a 2-D (or (1, bins, frames) batched) float32/float64 .npy array of
// magnitudes and returns it as frames × bins, checking the shape against bins before reading the
// data, and then every value.
func readMagnitudes(path string, bins int, framesFirst bool) ([]float64, int, error) {
	f, err := npy.Open(path)
	if err != nil {
		var fe *npy.FormatError
		if errors.As(err, &fe) {
			return nil, 0, inputError{err}
		}
		return nil, 0, err
	}
	defer f.Close()
	rows, cols, err := f.Header.Matrix()
	if err != nil {
		return nil, 0, badInput("%s: %v", path, err)
	}
	frames := cols
	if framesFirst {
		frames = rows
		if cols != bins {
			return nil, 0, badInput("%s: %d bins per frame, but n_fft gives %d (n_fft/2+1)", path, cols, bins)
		}
	} else if rows != bins {
		return nil, 0, badInput("%s: %d bins (rows), but n_fft gives %d (n_fft/2+1); use --frames-first for frames × bins", path, rows, bins)
	}
	if frames == 0 {
		return nil, 0, badInput("%s: no frames (shape %v)", path, f.Header.Shape)
	}
	data, err := f.ReadFloat64(nil)
	if err != nil {
		return nil, 0, inputError{err}
	}
	// In file order the data is rows × cols (C order) or cols × rows (Fortran order); frames ×
	// bins is file order for frames-first C arrays and for bins × frames Fortran arrays (librosa's).
	mag := data
	if framesFirst == f.Header.Fortran {
		if f.Header.Fortran {
			mag = transpose(data, cols, rows)
		} else {
			mag = transpose(data, rows, cols)
		}
	}
	if err := retrieval.CheckMagnitudes(mag, bins); err != nil {
		return nil, 0, badInput("%s: %v", path, err)
	}
	return mag, frames, nil
}

// transpose returns the cols × rows transpose of a row-major rows × cols array.
func transpose(a []float64, rows, cols int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// npyDefaults fills in what a .npy of magnitudes does not say (issue 17 item 3), saying so on
// stderr. Without --n-fft, n_fft is inferred from the bin count: bins = n_fft/2 + 1 holds for
// an even n_fft and the odd one after it, and the even one is taken (librosa's default 2048 and
// torchaudio's 400 are even; pass --n-fft for an odd one). Without --sr, the output is written
// at --sr's default, which is announced: a .npy holds no sample rate, and librosa's data is
// usually at 22 050 Hz.
func npyDefaults(path string, set map[string]bool, nfft, sr *int, framesFirst bool) error {
	if !set["n-fft"] {
		f, err := npy.Open(path)
		if err != nil {
			var fe *npy.FormatError
			if errors.As(err, &fe) {
				return inputError{err}
			}
			return err
		}
		rows, cols, err := f.Header.Matrix()
		f.Close()
		if err != nil {
			return badInput("%s: %v", path, err)
		}
		bins := rows
		if framesFirst {
			bins = cols
		}
		if bins < 2 {
			return badInput("%s: %d bins: no n_fft gives that (bins = n_fft/2 + 1); set --n-fft", path, bins)
		}
		*nfft = 2 * (bins - 1)
		fmt.Fprintf(os.Stderr, "rephase: %s: n_fft %d from its %d bins (bins = n_fft/2 + 1; --n-fft %d for the odd n_fft with as many)\n",
			path, *nfft, bins, *nfft+1)
	}
	if !set["sr"] {
		fmt.Fprintf(os.Stderr, "rephase: %s: a .npy holds no sample rate: writing at %d Hz (--sr; librosa's default is 22050)\n", path, *sr)
	}
	return nil
}
