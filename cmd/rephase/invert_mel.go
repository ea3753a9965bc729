package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/npy"
	"github.com/rephase/rephase/stream/wav"
)

// melFlagNames are the invert flags that select the mel / power / log path (runInvertMel).
var melFlagNames = []string{"n-mels", "preset", "power", "log", "log-floor", "ref", "top-db",
	"mel-scale", "mel-norm", "f-min", "f-max", "mel-start", "mel-anchor"}

// melInvocation reports whether invert's arguments name one of melFlagNames.
func melInvocation(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if slices.Contains(melFlagNames, name) {
			return true
		}
	}
	return false
}

// melPreset is one library's mel spectrogram defaults.
type melPreset struct {
	sr, nfft, hop, nMels int
	fMin, fMax           float64 // 0 fMax: sr/2
	scale, norm, log     string
	power                float64
	pad                  string
}

// melPresets: librosa.feature.melspectrogram (librosa ≥ 0.10: center=True with zero padding),
// torchaudio.transforms.MelSpectrogram (n_fft 400, hop 200, reflect padding) and the HiFi-GAN
// recipe (ln with clamp 1e-5; rephase assumes center=True, reflect, as torchaudio's STFT).
var melPresets = map[string]melPreset{
	"librosa":    {sr: 22050, nfft: 2048, hop: 512, nMels: 128, scale: "slaney", norm: "slaney", log: "none", power: 2, pad: "zero"},
	"torchaudio": {sr: 16000, nfft: 400, hop: 200, nMels: 128, scale: "htk", norm: "none", log: "none", power: 2, pad: "reflect"},
	"hifigan":    {sr: 22050, nfft: 1024, hop: 256, nMels: 80, fMax: 8000, scale: "slaney", norm: "slaney", log: "ln", power: 1, pad: "reflect"},
}

// runInvertMel is `rephase invert` for mel spectrograms (--n-mels) and for linear spectrograms
// stored as power or log (--power, --log): it parses the flags, reads the .npy and wires the
// retrieval package's MelProblem (or, for linear input, Problem on the decompressed magnitudes).
func runInvertMel(args []string) error {
	fs := newFlagSet("invert", "invert SPEC.npy --out OUT.wav --n-mels N [options]",
		"SPEC.npy is g(Φ·|STFT|^p): a mel spectrogram (n_mels × frames, or (1, n_mels, frames) as\n"+
			"torchaudio writes it) or, without --n-mels, a linear one (bins × frames) stored as power or log.\n"+
			"The mel loss is minimised directly (L-BFGS from a harmonic estimate of the magnitudes with\n"+
			"PGHI phase by default; --mel-start ls: from the clipped least-squares magnitudes), with a\n"+
			"weak pull toward those start magnitudes (--mel-anchor) that the mel alone cannot fix.")
	out := fs.StringP("out", "o", "", "output WAV `FILE` (required; - for stdout)")
	preset := fs.String("preset", "", "librosa | torchaudio | hifigan: that library's defaults (explicit flags override)")
	nMels := fs.Int("n-mels", 0, "mel bands (rows of the input); 0: a linear spectrogram")
	sr := fs.Int("sr", 22050, "sample rate (Hz)")
	nfft := fs.Int("n-fft", 1024, "n_fft (samples)")
	hop := fs.Int("hop", 0, "hop length (samples; 0: win_length/4)")
	winLength := fs.Int("win-length", 0, "window length (samples; 0: n_fft)")
	var window retrieval.Window
	fs.TextVar(&window, "window", retrieval.Hann, windowUsage)
	center := fs.Bool("center", true, "center framing (librosa/torch center=True); false: inner framing")
	pad := fs.String("pad-mode", "reflect", "padding of center framing: reflect | zero")
	fMin := fs.Float64("f-min", 0, "lowest mel edge (Hz)")
	fMax := fs.Float64("f-max", 0, "highest mel edge (Hz; 0: sr/2)")
	var scale retrieval.MelScale
	var norm retrieval.MelNorm
	var logc retrieval.MelLog
	fs.TextVar(&scale, "mel-scale", retrieval.MelSlaney, "slaney | htk")
	fs.TextVar(&norm, "mel-norm", retrieval.MelNormSlaney, "slaney (area) | none")
	fs.TextVar(&logc, "log", retrieval.LogNone, "compression the input was stored with: none | ln | log10 | db")
	power := fs.Float64("power", 1, "1: magnitude, 2: power")
	floor := fs.Float64("log-floor", 0, "clamp of ln/log10, amin of db (0: 1e-5; db with power 2: 1e-10)")
	ref := fs.Float64("ref", 1, "db reference (librosa's ref)")
	topDB := fs.Float64("top-db", 0, "db dynamic range the input was clipped to (0: none; librosa's default is 80)")
	length := fs.Int("length", 0, "signal length (samples; 0: (frames−1)·hop for center framing)")
	framesFirst := fs.Bool("frames-first", false, "input is frames × rows instead of rows × frames")
	method := fs.String("method", "", "lbfgs | gla | adam | sgdm, and for linear input also fgla | auto (default: lbfgs for mel input, fgla for linear; gd: deprecated, with --optimizer)")
	optimizer := fs.String("optimizer", "", optimizerUsage)
	iters := fs.Int("iters", 100, "maximum iterations (0: the initial signal)")
	alpha := fs.Float64("alpha", 0.99, "FGLA extrapolation α, 0 < α ≤ 1")
	lr := fs.Float64("lr", 0, "learning rate of adam (units of the signal's RMS) and sgdm (units of a preconditioned step); 0: the optimizer's default")
	tol := fs.Float64("tol", 0, "stop when the relative residual falls below this (≤ 0: never)")
	var initVal retrieval.Init
	fs.TextVar(&initVal, "init", retrieval.InitPGHI, "phase of the start: pghi | zero | random")
	var melStart retrieval.MelStart
	fs.TextVar(&melStart, "mel-start", retrieval.MelStartAuto, "magnitudes of a mel input's start: auto (harmonic where the bins are 25 Hz apart or finer, "+
		"as HiFi-GAN's 22.05 kHz / n_fft 1024, else ls) | harmonic (comb at one to three f0s per frame, fitted to the mel) | ls (clipped least squares)")
	melAnchor := fs.Float64("mel-anchor", retrieval.DefaultMelAnchor, "weight of the pull toward the start's magnitudes inside each mel band, relative to the mel loss (0: none; more keeps the start's harmonics closer at some cost in mel SC; default none with --fit stored)")
	seed := fs.Uint64("seed", 1, "random seed")
	pcm16 := fs.Bool("pcm16", false, "write 16-bit integer PCM instead of 32-bit float")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fit := fs.String("fit", "linear", "mel loss domain: linear (Φ·|X|^p, the stored values decompressed) | stored (g(Φ·|X|^p), as --log)")
	in, err := parseWithInput(fs, args, "invert")
	if err != nil {
		return err
	}
	if in == "" || *out == "" {
		return badInput("invert: need an input file and --out")
	}
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	if *preset != "" {
		p, ok := melPresets[strings.ToLower(*preset)]
		if !ok {
			return badInput("invert: unknown --preset %q (librosa | torchaudio | hifigan)", *preset)
		}
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("sr", func() { *sr = p.sr })
		def("n-fft", func() { *nfft = p.nfft })
		def("hop", func() { *hop = p.hop })
		def("n-mels", func() { *nMels = p.nMels })
		def("f-min", func() { *fMin = p.fMin })
		def("f-max", func() { *fMax = p.fMax })
		def("mel-scale", func() { scale.UnmarshalText([]byte(p.scale)) })
		def("mel-norm", func() { norm.UnmarshalText([]byte(p.norm)) })
		def("log", func() { logc.UnmarshalText([]byte(p.log)) })
		def("power", func() { *power = p.power })
		def("pad-mode", func() { *pad = p.pad })
	}
	if *nMels < 0 {
		return badInput("invert: --n-mels %d: want ≥ 1 (or 0 for a linear spectrogram)", *nMels)
	}
	for _, f := range []string{"mel-start", "mel-anchor"} {
		if *nMels == 0 && fs.Changed(f) {
			return badInput("invert: --%s needs a mel input (--n-mels N or --preset)", f)
		}
	}
	anchor, err := melAnchorWeight(*melAnchor)
	if err != nil {
		return badInput("invert: %v", err)
	}
	if !fs.Changed("mel-anchor") {
		anchor = 0 // the library's default: 0.03 for --fit linear, none for --fit stored
	}
	if *iters < 0 {
		return badInput("invert: --iters %d: want ≥ 0", *iters)
	}
	if err := wav.CheckSampleRate(*sr); err != nil {
		return badInput("invert: --sr: %v", err)
	}
	if *nfft < 2 || *nfft%2 != 0 {
		return badInput("invert: --n-fft %d: want an even number of samples ≥ 2", *nfft)
	}
	if err := checkOutput("--out", *out, in); err != nil {
		return err
	}
	loss := retrieval.MelLoss{Power: *power, Log: logc, Floor: *floor, Ref: *ref, TopDB: *topDB}
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
	rows := cfg.Bins()
	var mel *retrieval.Mel
	if *nMels > 0 {
		if mel, err = retrieval.NewMel(retrieval.MelConfig{SampleRate: float64(*sr), NFFT: cfg.NFFT, NMels: *nMels,
			FMin: *fMin, FMax: *fMax, Scale: scale, Norm: norm}); err != nil {
			return inputError{err}
		}
		rows = *nMels
	}
	target, frames, err := readSpectrogram(in, rows, *framesFirst, *nMels > 0)
	if err != nil {
		return err
	}
	sigLen := *length
	if sigLen == 0 {
		sigLen = (frames - 1) * cfg.Hop
		if cfg.Framing != retrieval.Center {
			sigLen += cfg.NFFT
		}
	}
	if sigLen < 1 || cfg.Frames(sigLen) != frames {
		return badInput("%s: %d frames do not match a %d-sample signal; set --length", in, frames, sigLen)
	}
	s, err := retrieval.NewSTFT(cfg, sigLen)
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", in, err)}
	}
	defer s.Close()

	def := "fgla"
	if mel != nil {
		def = "lbfgs"
	}
	if *method, err = resolveMethod(fs, *method, *optimizer, def, os.Stderr); err != nil {
		return err
	}
	common := invertCommon{method: *method, iters: *iters, tol: *tol, lr: *lr, alpha: *alpha, nfft: *nfft}
	if err := common.validate(); err != nil {
		return err
	}
	opt := retrieval.Options{MaxIter: *iters, Tol: *tol, Seed: *seed, Alpha: *alpha, LearningRate: *lr}
	if opt.Optimizer, err = retrieval.ParseOptimizer(*method); err != nil {
		return inputError{err}
	}
	opt.Init = initVal
	if mel != nil && (opt.Optimizer == retrieval.FGLA || opt.Optimizer == retrieval.Auto) {
		return badInput("invert: --method %v diverges on the mel loss (its extrapolation is not a Griffin-Lim step there); use --method lbfgs, the default for mel input", opt.Optimizer)
	}

	start := time.Now()
	var x []float64
	var sc, inc float64
	var res *retrieval.Result
	var anchorInEffect float64
	if mel != nil {
		p, err := retrieval.NewMelProblem(s, mel, target, loss)
		if err != nil {
			return melInputError(in, err)
		}
		switch *fit {
		case "stored":
		case "linear":
			// The log loss weights every band alike, so L-BFGS spends itself on the quiet bands:
			// on 1.4 s of speech, HiFi-GAN conventions, 100 iterations, the uncompressed mel SC
			// reaches −21 dB in the ln domain and −41 dB in the linear one from the harmonic start
			// (−16 and −36 dB from the least-squares start; benchmarks/report_static.md).
			if p, err = retrieval.NewMelProblem(s, mel, p.LinearTarget(), retrieval.MelLoss{Power: loss.Power}); err != nil {
				return melInputError(in, err)
			}
		default:
			return badInput("invert: unknown --fit %q (linear | stored)", *fit)
		}
		p.Start, p.Anchor = melStart, anchor
		anchorInEffect = p.AnchorWeight()
		if res, err = retrieval.InvertMel(p, opt); err != nil { // --iters 0: the initial signal
			if errors.As(err, new(*retrieval.MagnitudeError)) {
				return melInputError(in, err)
			}
			return err
		}
		x = res.Signal
		sc, inc = p.SpectralConvergence(x), p.Inconsistency(x)
	} else {
		mag, err := retrieval.DecompressSpectrogram(target, rows, loss)
		if err != nil {
			return melInputError(in, err)
		}
		p, err := retrieval.NewProblem(s, mag, retrieval.Loss{})
		if err != nil {
			return melInputError(in, err)
		}
		if res, err = retrieval.Invert(p, opt); err != nil {
			return err
		}
		x = res.Signal
		sc, inc = p.SpectralConvergence(x), p.Inconsistency(x)
	}
	secs := time.Since(start).Seconds()
	enc := wav.Float32
	if *pcm16 {
		enc = wav.PCM16
	}
	if _, err := writeOutput(*out, *sr, [][]float64{x}, enc, false, "try --init zero or fewer --iters"); err != nil {
		return err
	}
	result := map[string]any{
		"input": in, "output": *out, "method": opt.Optimizer.String(), "init": opt.Init.String(),
		"iterations": res.Iterations, "stop": res.Stop.String(), "seconds": secs,
		"sc_db": retrieval.DB(sc), "inconsistency": inc, "sample_rate": *sr, "samples": sigLen,
		"n_fft": cfg.NFFT, "hop_length": cfg.Hop, "power": loss.Power, "log": logc.String(),
	}
	if mel != nil {
		result["n_mels"] = *nMels
		result["mel_scale"], result["mel_norm"], result["fit"] = scale.String(), norm.String(), *fit
		result["mel_start"] = melStart.Resolve(float64(*sr), cfg.NFFT).String()
		result["mel_anchor"] = anchorInEffect
	}
	if *asJSON {
		return writeJSON(os.Stdout, result)
	}
	kind := "linear"
	if mel != nil {
		kind = fmt.Sprintf("%d-band mel", *nMels)
	}
	fmt.Printf("%s → %s: %s spectrogram (power %g, log %s), %d samples at %d Hz\n", in, *out, kind, *power, logc, sigLen, *sr)
	fmt.Printf("method %s, init %s, %d iterations (%s), %.3f s\n", opt.Optimizer, opt.Init, res.Iterations, res.Stop, secs)
	fmt.Printf("spectral convergence %.2f dB (%s, uncompressed)\n", retrieval.DB(sc), kind)
	return nil
}

func melInputError(in string, err error) error {
	var me *retrieval.MagnitudeError
	if errors.As(err, &me) {
		return badInput("%s: %v", in, err)
	}
	return inputError{fmt.Errorf("%s: %w", in, err)}
}

// readSpectrogram reads a 2-D or (1, rows, frames) float32/float64 .npy array with rows rows
// (mel bands or bins) per frame and returns it frames × rows, with the frame count. Values are
// checked by the Problem, not here (log spectrograms are negative).
func readSpectrogram(path string, rows int, framesFirst, isMel bool) ([]float64, int, error) {
	f, err := npy.Open(path)
	if err != nil {
		var fe *npy.FormatError
		if errors.As(err, &fe) {
			return nil, 0, inputError{err}
		}
		return nil, 0, err
	}
	defer f.Close()
	r, c, err := f.Header.Matrix()
	if err != nil {
		return nil, 0, badInput("%s: %v", path, err)
	}
	what := "bins (n_fft/2+1)"
	if isMel {
		what = "mel bands (--n-mels)"
	}
	frames, got := c, r
	if framesFirst {
		frames, got = r, c
	}
	if got != rows {
		return nil, 0, badInput("%s: shape %v has %d rows per frame, want %d %s", path, f.Header.Shape, got, rows, what)
	}
	if frames == 0 {
		return nil, 0, badInput("%s: no frames (shape %v)", path, f.Header.Shape)
	}
	data, err := f.ReadFloat64(nil)
	if err != nil {
		return nil, 0, inputError{err}
	}
	if framesFirst == f.Header.Fortran {
		t := make([]float64, len(data))
		a, b := r, c // file order is a × b
		if f.Header.Fortran {
			a, b = c, r
		}
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				t[j*a+i] = data[i*b+j]
			}
		}
		data = t
	}
	return data, frames, nil
}

// warnLinearScale writes a warning to w when a linear magnitude spectrogram (frames × bins)
// looks like a power spectrogram: its dynamic range between the median and the 99.9th percentile
// of its nonzero values exceeds powerRangeDB. (Negative values, a log spectrogram's sign, are
// rejected with linearHint.)
func warnLinearScale(w io.Writer, in string, mag []float64) {
	var nz []float64
	for _, v := range mag {
		if v > 0 {
			nz = append(nz, v)
		}
	}
	if len(nz) < 100 {
		return
	}
	slices.Sort(nz)
	med, top := nz[len(nz)/2], nz[len(nz)*999/1000]
	if r := 20 * math.Log10(top/med); r > powerRangeDB {
		fmt.Fprintf(w, "warning: %s: the 99.9th percentile is %.0f dB above the median, as in a power spectrogram (|X|²)"+
			" rather than a magnitude; if so, add --power 2\n", in, r)
	}
}

// powerRangeDB is warnLinearScale's threshold. Measured (median to 99.9th percentile of |STFT|,
// Hann, n_fft 512–2048): espeak-ng speech at 16 and 22.05 kHz spans 50–58 dB as magnitude and
// 100–117 dB as power; the benchmarks' synthetic music 78–93 dB as magnitude. Clean synthetic
// tones (a chirp: 118 dB) exceed it as magnitudes too, hence only a warning.
const powerRangeDB = 95

// linearHint is appended to a negative-magnitude error of a linear .npy input.
const linearHint = " (a log spectrogram? use --log ln|log10|db)"

// withLinearHint adds a hint to readMagnitudes' errors that a mel or log spectrogram causes: a
// negative magnitude gets linearHint, a row count that is not n_fft/2+1 a pointer to --n-mels.
// (The *retrieval.MagnitudeError is formatted, not wrapped, hence the message tests.)
func withLinearHint(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, " is -") && strings.Contains(msg, "want a finite value ≥ 0"):
		return badInput("%s%s", msg, linearHint)
	case strings.Contains(msg, "bins (rows), but n_fft gives"):
		return badInput("%s; or, for a mel spectrogram, --n-mels N (or --preset librosa|torchaudio|hifigan)", msg)
	}
	return err
}
