package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// cwtFlags are invert's scalogram options.
type cwtFlags struct {
	wavelet, freqLimits, boundary, initial string
	voices, pad                            int
	cutoff                                 float64
	lowpass                                bool
}

func (c *cwtFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.wavelet, "wavelet", "morse", "--tfr cwt: morse (γ 3, β 20) | morse:GAMMA,BETA (MATLAB's default is morse:3,60) | amor | bump")
	fs.IntVar(&c.voices, "voices", 10, "--tfr cwt: voices per octave (1..48)")
	fs.StringVar(&c.freqLimits, "freq-limits", "", "--tfr cwt: FMIN,FMAX in Hz, inside (0, fs/2) (default: cwtfreqbounds with --cutoff)")
	fs.Float64Var(&c.cutoff, "cutoff", 100, "--tfr cwt: cwtfreqbounds cutoff (percent of the finest wavelet's peak at Nyquist; 100: up to fs/2)")
	fs.BoolVar(&c.lowpass, "include-lowpass", false, "--tfr cwt: include the low-pass scaling coefficients (DC and the global phase become recoverable)")
	fs.StringVar(&c.boundary, "boundary", "periodic", "--tfr cwt: periodic | symmetric")
	fs.IntVar(&c.pad, "pad", 10, "--tfr cwt: mirrored samples added at each end before analysis (at least; grown to a fast FFT length), cropped after")
	fs.StringVar(&c.initial, "initial", "", "--tfr cwt: WAV file with the initial signal (default: --init)")
}

// invertCommon carries invert's method options to the scalogram path.
type invertCommon struct {
	method               string // an optimizer's name (resolveMethod)
	init                 retrieval.Init
	iters                int
	tol, lr, alpha       float64
	seed                 uint64
	display, pcm16, json bool
	normalize            bool
	nfft, hop            int // for the STFT-domain spectral convergence of the result
	threads              int // --threads (not used by --tfr scattering)
}

// parseFreqLimits parses "FMIN,FMAX" (Hz).
func parseFreqLimits(s string) ([2]float64, error) {
	a, b, ok := strings.Cut(s, ",")
	lo, e1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, e2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || e1 != nil || e2 != nil {
		return [2]float64{}, fmt.Errorf("--freq-limits %q: want FMIN,FMAX in Hz", s)
	}
	return [2]float64{lo, hi}, nil
}

// runInvertCWT inverts each channel of a WAV file from its scalogram (and, with
// --include-lowpass, its scaling coefficients), as MATLAB's cwtmag2sig.
func runInvertCWT(in, out string, cf cwtFlags, o invertCommon) error {
	if strings.ToLower(filepath.Ext(in)) == ".npy" {
		return badInput("%s: --tfr cwt inverts the scalogram of a WAV input; .npy magnitudes are STFT magnitudes", in)
	}
	a, err := readSignal(in)
	if err != nil {
		return err
	}
	w, err := retrieval.ParseWavelet(cf.wavelet)
	if err != nil {
		return inputError{err}
	}
	cfg := retrieval.CWTConfig{Wavelet: w, VoicesPerOctave: cf.voices, SampleRate: float64(a.SampleRate),
		Cutoff: cf.cutoff, IncludeLowpass: cf.lowpass}
	if cf.voices < 1 {
		return badInput("invert: --voices %d: want 1..48 voices per octave", cf.voices)
	}
	switch cf.boundary {
	case "periodic":
	case "symmetric":
		cfg.Boundary = retrieval.Symmetric
	default:
		return badInput("invert: unknown --boundary %q (periodic | symmetric)", cf.boundary)
	}
	if cf.freqLimits != "" {
		if cfg.FreqLimits, err = parseFreqLimits(cf.freqLimits); err != nil {
			return inputError{err}
		}
	}
	if cf.pad < 0 || cf.pad > a.Len() {
		return badInput("invert: --pad %d: want 0..%d samples (the signal's length)", cf.pad, a.Len())
	}
	opt := retrieval.Options{MaxIter: o.iters, Tol: o.tol, Alpha: o.alpha, LearningRate: o.lr, Seed: o.seed, Threads: o.threads}
	if opt.Optimizer, err = retrieval.ParseOptimizer(o.method); err != nil {
		return inputError{err}
	}
	opt.Init = o.init
	if opt.Init == retrieval.InitPGHI {
		return badInput("invert: --init pghi is for the STFT; use noise, zero or random with --tfr cwt")
	}
	display := o.display
	var initial *wav.Audio
	if cf.initial != "" {
		if initial, err = readSignal(cf.initial); err != nil {
			return err
		}
		if initial.Len() != a.Len() || len(initial.Channels) != len(a.Channels) {
			return badInput("%s: initial signal has %d channel(s) × %d samples, want %d × %d like %s",
				cf.initial, len(initial.Channels), initial.Len(), len(a.Channels), a.Len(), in)
		}
	}
	left, right := retrieval.ScalogramPadding(a.Len(), cf.pad)
	start := time.Now()
	c, err := retrieval.NewCWT(cfg, a.Len()+left+right)
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", in, err)}
	}
	defer c.Close()
	stftCfg, err := retrieval.Config{NFFT: o.nfft, Hop: o.hop}.Resolve()
	if err != nil {
		return inputError{err}
	}
	var outs [][]float64
	var scs, stftSCs, rels, incs []float64
	totalIters := 0
	var stop retrieval.StopReason
	threadsUsed := 1 // the threads the last channel's gradient used (Problem.Threads)
	for ch, x := range a.Channels {
		xp := retrieval.PadSymmetric(x, left, right)
		var low []float64
		if c.HasLowpass() {
			low = c.Lowpass(nil, xp)
		}
		p, err := retrieval.NewScalogramProblem(c, c.Magnitude(nil, xp), low)
		if err != nil {
			var me *retrieval.MagnitudeError
			if errors.As(err, &me) {
				return badInput("%s: %v", in, err)
			}
			return err
		}
		o := opt
		if initial != nil {
			o.InitialSignal = retrieval.PadSymmetric(initial.Channels[ch], left, right)
		}
		if display {
			fmt.Fprintf(os.Stderr, "channel %d\n#Iteration  |  Normalized Inconsistency  \n", ch)
			o.Progress = func(it int, inc float64) { fmt.Fprintf(os.Stderr, "%7d     |  %.4e \n", it, inc) }
		}
		res, err := retrieval.InvertScalogram(p, o) // --iters 0: the initial signal
		if err != nil {
			return inputError{err}
		}
		if display {
			fmt.Fprintf(os.Stderr, "Decomposition process stopped: %v after %d iterations (inconsistency %.4e, tolerance %g).\n",
				res.Stop, res.Iterations, res.Inconsistency, opt.Tol)
		}
		y := res.Signal[left : left+len(x)]
		outs = append(outs, y)
		scs = append(scs, retrieval.DB(p.SpectralConvergence(res.Signal)))
		threadsUsed = p.Threads()
		p.Close()
		rels = append(rels, retrieval.RelativeL2(x, y))
		incs = append(incs, res.Inconsistency)
		stftSC := math.NaN() // (null in JSON) for a signal shorter than n_fft: not planned at all
		if stftCfg.NFFT <= len(x) {
			stftSC = retrieval.STFTSpectralConvergenceDB(stftCfg, x, y)
		}
		stftSCs = append(stftSCs, stftSC)
		totalIters += res.Iterations
		stop = res.Stop
	}
	secs := time.Since(start).Seconds()
	enc := wav.Float32
	if o.pcm16 {
		enc = wav.PCM16
	}
	if _, err := writeOutput(out, a.SampleRate, outs, enc, o.normalize, "lower --lr"); err != nil {
		return err
	}
	rc := c.Config()
	result := map[string]any{
		"input": in, "output": out, "tfr": "cwt", "method": opt.Optimizer.String(), "init": opt.Init.String(),
		"wavelet": rc.Wavelet.String(), "voices": rc.VoicesPerOctave, "scales": c.Scales(),
		"freq_limits": rc.FreqLimits, "include_lowpass": rc.IncludeLowpass, "boundary": rc.Boundary.String(),
		"pad": [2]int{left, right}, "iterations": totalIters / len(outs), "stop": stop.String(),
		"inconsistency": mean(incs), "seconds": secs,
		"ms_per_iteration": msPerIteration(secs, totalIters), "threads": threadsUsed,
		"sc_db": mean(scs), "stft_sc_db": mean(stftSCs), "rel_l2": mean(rels),
		"channels": len(outs), "sample_rate": a.SampleRate, "samples": a.Len(),
		"stft_n_fft": stftCfg.NFFT, "stft_hop_length": stftCfg.Hop,
	}
	if o.json {
		return writeJSON(os.Stdout, result)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz\n", in, out, len(outs), a.Len(), a.SampleRate)
	fmt.Printf("scalogram: %v wavelet, %d voices/octave, %d scales, %.4g–%.4g Hz, low-pass %v, %s boundary, padding %d+%d\n",
		rc.Wavelet, rc.VoicesPerOctave, c.Scales(), rc.FreqLimits[0], rc.FreqLimits[1], rc.IncludeLowpass, rc.Boundary, left, right)
	fmt.Printf("method %s", opt.Optimizer)
	fmt.Printf(", init %s, %d iterations (%s), inconsistency %.3g, %.3f s, %.2f ms/iteration\n", opt.Init,
		totalIters/len(outs), stop, mean(incs), secs, result["ms_per_iteration"])
	fmt.Printf("spectral convergence %.2f dB (scalogram), %.2f dB (STFT, n_fft %d, hop %d); waveform error (sign-aligned) %.4f\n",
		mean(scs), mean(stftSCs), stftCfg.NFFT, stftCfg.Hop, mean(rels))
	return nil
}
