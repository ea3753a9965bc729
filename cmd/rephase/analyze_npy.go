package main

import (
	"path/filepath"
	"strings"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/npy"
	"github.com/rephase/rephase/stream/wav"
)

// npyFormat reports whether analyze writes a .npy: --format npy, or no --format and an --out
// ending in .npy.
func npyFormat(format, out string) (bool, error) {
	switch strings.ToLower(format) {
	case "npy":
		return true, nil
	case "frames", "frame-stream":
		return false, nil
	case "":
		return strings.EqualFold(filepath.Ext(out), ".npy"), nil
	}
	return false, badInput("analyze: unknown --format %q (frames | npy)", format)
}

// analyzeNpy writes the magnitudes of r (channels mixed to mono) to o as a float32 .npy of bins
// × frames with librosa ≥ 0.10's framing (center, zero padding: 1 + ⌊length/hop⌋ frames), so
// that it holds what np.abs(librosa.stft(y, n_fft=…, hop_length=…)) gives, and what invert reads
// back. toMel maps each frame of magnitudes to the frame written (the identity, or mel bands:
// then the .npy is n_mels × frames, as librosa.feature.melspectrogram). Unlike the frame stream,
// it holds the whole signal and spectrogram in memory.
func analyzeNpy(o *output, r *wav.Reader, stft retrieval.Config, toMel func([]float64) []float64) error {
	a, err := readAll(r)
	if err != nil {
		return err
	}
	cfg := stft
	cfg.Framing, cfg.Pad = retrieval.Center, retrieval.Zero
	x := mono(a)
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		return inputError{err}
	}
	defer s.Close()
	mag := s.Magnitude(nil, x) // frames × bins row-major: the columns of bins × frames
	frames, rows := len(mag)/cfg.Bins(), cfg.Bins()
	var cols []float64
	for m := range frames {
		f := toMel(mag[m*rows : (m+1)*rows])
		if cols == nil {
			cols = make([]float64, 0, frames*len(f))
		}
		cols = append(cols, f...)
	}
	if err := npy.WriteColumns(o, len(cols)/max(1, frames), frames, cols); err != nil {
		return err
	}
	return o.commit()
}
