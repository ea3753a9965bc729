package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// scatteringFlags are invert's --tfr scattering options.
type scatteringFlags struct {
	j, q, maxOrder, warmup    int
	warmupWeight, renormalize float64
}

func (s *scatteringFlags) register(fs *pflag.FlagSet) {
	d := retrieval.DefaultScatteringOptions()
	fs.IntVar(&s.j, "J", 6, "--tfr scattering: averaging scale 2^J samples (Kymatio's J)")
	fs.IntVar(&s.q, "Q", 8, "--tfr scattering: first-order wavelets per octave (the second order has 1)")
	fs.IntVar(&s.maxOrder, "max-order", 2, "--tfr scattering: 1 or 2")
	fs.IntVar(&s.warmup, "warmup", d.Warmup, "--tfr scattering: first iterations with the zeroth order weighted by --warmup-weight (0: none, the Kymatio example's plain MSE)")
	fs.Float64Var(&s.warmupWeight, "warmup-weight", d.WarmupWeight, "--tfr scattering: zeroth-order weight during the warm-up")
	fs.Float64Var(&s.renormalize, "renormalize", d.Renormalize, "--tfr scattering: weight rows by mean/(energy + ε·mean) with this ε (0: plain MSE, with --warmup 0 the Kymatio example's loss)")
}

// scatteringDefaults sets invert's defaults for --tfr scattering on the flags the user left
// unset (--method is resolveMethod's, L-BFGS by default): from seeded noise, 300 iterations, tolerance 1e-4 on the
// scattering-domain spectral convergence (−80 dB), and the STFT-domain measure at n_fft 256,
// hop 64 (the issue's).
func scatteringDefaults(fs *pflag.FlagSet, init *retrieval.Init, iters, nfft, hop *int) {
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	if !set["init"] {
		*init = retrieval.InitNoise
	}
	if !set["iters"] {
		*iters = retrieval.DefaultScatteringOptions().MaxIter
	}
	if !set["n-fft"] {
		*nfft = 256
	}
	if !set["hop"] {
		*hop = 64
	}
}

// runInvertScattering inverts each channel of a WAV file from its wavelet scattering
// coefficients (Kymatio's Scattering1D) by gradient descent, and reports spectral convergence
// in the scattering and the STFT domains.
func runInvertScattering(in, out string, sf scatteringFlags, o invertCommon) error {
	if strings.ToLower(filepath.Ext(in)) == ".npy" {
		return badInput("%s: --tfr scattering inverts the scattering of a WAV input; .npy magnitudes are STFT magnitudes", in)
	}
	switch {
	case o.iters < 0:
		return badInput("invert: --iters %d: want ≥ 0", o.iters)
	case math.IsNaN(o.tol) || math.IsInf(o.tol, 0):
		return badInput("invert: --tol %v: want a finite tolerance (≤ 0: never stop early)", o.tol)
	case !(o.lr >= 0) || math.IsInf(o.lr, 0):
		return badInput("invert: --lr %v: want a finite learning rate ≥ 0 (0: the optimizer's default)", o.lr)
	case sf.warmup < 0 || !(sf.warmupWeight > 0) || math.IsInf(sf.warmupWeight, 0):
		return badInput("invert: --warmup %d --warmup-weight %v: want ≥ 0 iterations and a finite weight > 0", sf.warmup, sf.warmupWeight)
	case !(sf.renormalize >= 0) || math.IsInf(sf.renormalize, 0):
		return badInput("invert: --renormalize %v: want a finite ε ≥ 0 (0: none)", sf.renormalize)
	case o.nfft < 2 || o.nfft%2 != 0:
		return badInput("invert: --n-fft %d: want an even number of samples ≥ 2", o.nfft)
	}
	if err := checkOutput("--out", out, in); err != nil {
		return err
	}
	a, err := readSignal(in)
	if err != nil {
		return err
	}
	cfg := retrieval.ScatteringConfig{J: sf.j, Q: sf.q, MaxOrder: sf.maxOrder}
	opt := retrieval.ScatteringOptions{Options: retrieval.Options{MaxIter: o.iters, Tol: o.tol, LearningRate: o.lr, Seed: o.seed},
		Warmup: sf.warmup, WarmupWeight: sf.warmupWeight, Renormalize: sf.renormalize}
	if opt.Optimizer, err = retrieval.ParseOptimizer(o.method); err != nil {
		return inputError{err}
	}
	if opt.Optimizer == retrieval.GLA || opt.Optimizer == retrieval.FGLA {
		return badInput("invert: --tfr scattering is inverted by gradient descent (--method lbfgs | adam | sgdm), not %v", opt.Optimizer)
	}
	opt.Init = o.init
	if opt.Init != retrieval.InitNoise {
		return badInput("invert: --tfr scattering starts from noise (--init noise), not %v", opt.Init)
	}
	if o.nfft > a.Len() {
		return badInput("%s: --n-fft %d (of the STFT-domain spectral convergence) is longer than the signal (%d samples)", in, o.nfft, a.Len())
	}
	stftCfg, err := retrieval.Config{NFFT: o.nfft, Hop: o.hop}.Resolve()
	if err != nil {
		return inputError{err}
	}
	start := time.Now()
	s, err := retrieval.NewScattering(cfg, a.Len())
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", in, err)}
	}
	defer s.Close()
	var outs [][]float64
	var scs, stftSCs, rels []float64
	totalIters := 0
	var stop retrieval.StopReason
	for ch, x := range a.Channels {
		p, err := retrieval.NewScatteringProblem(s, s.Transform(nil, x))
		if err != nil {
			return err
		}
		ro := opt
		if o.display {
			fmt.Fprintf(os.Stderr, "channel %d\n#Iteration  |  Scattering SC  \n", ch)
			ro.Progress = func(it int, sc float64) { fmt.Fprintf(os.Stderr, "%7d     |  %.4e \n", it, sc) }
		}
		res, err := retrieval.InvertScattering(p, ro) // --iters 0: the initial signal
		if err != nil {
			return inputError{err}
		}
		if o.display {
			fmt.Fprintf(os.Stderr, "Stopped: %v after %d iterations (scattering SC %.4e, tolerance %g).\n",
				res.Stop, res.Iterations, res.Inconsistency, opt.Tol)
		}
		outs = append(outs, res.Signal)
		scs = append(scs, retrieval.DB(p.SpectralConvergence(res.Signal)))
		rels = append(rels, retrieval.RelativeL2(x, res.Signal))
		stftSCs = append(stftSCs, retrieval.STFTSpectralConvergenceDB(stftCfg, x, res.Signal))
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
	result := map[string]any{
		"input": in, "output": out, "tfr": "scattering", "method": opt.Optimizer.String(),
		"init": opt.Init.String(), "J": cfg.J, "Q": cfg.Q, "max_order": cfg.MaxOrder,
		"paths": s.Rows(), "frames": s.Frames(), "padded_length": s.PaddedLength(),
		"warmup": opt.Warmup, "warmup_weight": opt.WarmupWeight, "renormalize": opt.Renormalize,
		"iterations": totalIters / len(outs), "stop": stop.String(), "seconds": secs,
		"ms_per_iteration": msPerIteration(secs, totalIters),
		"sc_db":            mean(scs), "stft_sc_db": mean(stftSCs), "rel_l2": mean(rels),
		"channels": len(outs), "sample_rate": a.SampleRate, "samples": a.Len(),
		"stft_n_fft": stftCfg.NFFT, "stft_hop_length": stftCfg.Hop,
	}
	if o.json {
		return writeJSON(os.Stdout, result)
	}
	fmt.Printf("%s → %s: %d channel(s), %d samples at %d Hz\n", in, out, len(outs), a.Len(), a.SampleRate)
	fmt.Printf("scattering: J %d, Q %d, max order %d: %d paths × %d frames (padded to %d)\n",
		cfg.J, cfg.Q, cfg.MaxOrder, s.Rows(), s.Frames(), s.PaddedLength())
	fmt.Printf("%s from noise, warm-up %d at weight %g, renormalisation %g, %d iterations (%s), %.3f s, %.2f ms/iteration\n",
		opt.Optimizer, opt.Warmup, opt.WarmupWeight, opt.Renormalize, totalIters/len(outs), stop, secs, result["ms_per_iteration"])
	fmt.Printf("spectral convergence %.2f dB (scattering), %.2f dB (STFT, n_fft %d, hop %d); waveform error (sign-aligned) %.4f (the sign and sub-2^J shifts are invisible)\n",
		mean(scs), mean(stftSCs), stftCfg.NFFT, stftCfg.Hop, mean(rels))
	return nil
}
