package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
)

// melFlags describe a mel filterbank: the frames analyze writes with --n-mels, a headerless mel
// stream for synth, and the mel bottleneck of stream and live (analysis → mel → resynthesis).
type melFlags struct {
	nMels      *int
	fMin, fMax *float64
	scale      retrieval.MelScale
	norm       retrieval.MelNorm
}

func addMelFlags(fs *pflag.FlagSet, use string) *melFlags {
	m := &melFlags{
		nMels: fs.Int("n-mels", 0, "mel bands "+use+" (0: linear magnitudes)"),
		fMin:  fs.Float64("f-min", 0, "lowest mel edge (Hz)"),
		fMax:  fs.Float64("f-max", 0, "highest mel edge (Hz; 0: sr/2)"),
	}
	fs.TextVar(&m.scale, "mel-scale", retrieval.MelSlaney, "slaney (librosa) | htk (torchaudio)")
	fs.TextVar(&m.norm, "mel-norm", retrieval.MelNormSlaney, "slaney (area, librosa) | none (torchaudio)")
	return m
}

// config returns the filterbank for sample rate rate and n_fft nfft, nil for --n-mels 0.
func (m *melFlags) config(rate, nfft int) (*retrieval.MelConfig, error) {
	if *m.nMels < 0 {
		return nil, fmt.Errorf("--n-mels %d: want ≥ 1 (or 0 for linear magnitudes)", *m.nMels)
	}
	if *m.nMels == 0 {
		return nil, nil
	}
	c := retrieval.MelConfig{SampleRate: float64(rate), NFFT: nfft, NMels: *m.nMels, FMin: *m.fMin, FMax: *m.fMax, Scale: m.scale, Norm: m.norm}
	if _, err := retrieval.NewMel(c); err != nil {
		return nil, err
	}
	return &c, nil
}

// melStorageFlags describe how mel frames are stored: power and compression (MelLoss).
type melStorageFlags struct {
	power, floor, ref *float64
	log               retrieval.MelLog
}

func addMelStorageFlags(fs *pflag.FlagSet) *melStorageFlags {
	m := &melStorageFlags{
		power: fs.Float64("power", 1, "mel frames of Φ·|X|^p: 1 magnitude, 2 power"),
		floor: fs.Float64("log-floor", 0, "clamp of ln/log10, amin of db (0: 1e-5; db with power 2: 1e-10)"),
		ref:   fs.Float64("ref", 1, "db reference (librosa's ref)"),
	}
	fs.TextVar(&m.log, "log", retrieval.LogNone, "compression of the mel frames: none | ln (HiFi-GAN) | log10 | db")
	return m
}

// loss returns the storage as a MelLoss, or the error NewMelPenalty would give.
func (m *melStorageFlags) loss() (retrieval.MelLoss, error) {
	l := retrieval.MelLoss{Power: *m.power, Log: m.log, Floor: *m.floor, Ref: *m.ref}
	return l, l.Validate()
}

// melFrames returns the map from a frame of linear magnitudes (n_fft/2 + 1) to the stored mel
// frame g(Φ·|X|^p) of filterbank mc and storage ml, into one reused buffer (valid until the
// next call).
func melFrames(mc retrieval.MelConfig, ml retrieval.MelLoss) (func([]float64) []float64, error) {
	fb, err := retrieval.NewMel(mc)
	if err != nil {
		return nil, err
	}
	pen, err := retrieval.NewMelPenalty(fb, ml)
	if err != nil {
		return nil, err
	}
	dst, scratch := make([]float64, fb.NMels()), make([]float64, fb.Bins())
	return func(mag []float64) []float64 { return pen.Frame(dst, mag, scratch) }, nil
}
