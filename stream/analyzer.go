package stream

import (
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// Analyzer is the streaming STFT magnitude analysis that feeds an Engine: samples in, one frame
// of Bins() magnitudes out per hop. Frame j is |DFT(w · x[j·hop − P : j·hop − P + n_fft])| with
// P = (⌈n_fft/hop⌉ − 1)·hop leading zeros (retrieval's Full framing), so every sample lies in
// the same number of frames and the first frame is out after n_fft − P ≤ hop samples.
// Write and Flush do not allocate. Not safe for concurrent use.
type Analyzer struct {
	cfg        retrieval.Config
	win, hist  []float64
	fill       int // samples in hist
	in, frames int // samples written, frames emitted
	plan       *fft.Plan
	frame, mag []float64
	spec       []complex128
}

// NewAnalyzer plans the analysis for cfg's n_fft, hop, win_length and window (Framing and Pad
// are ignored).
func NewAnalyzer(cfg retrieval.Config) (*Analyzer, error) {
	cfg.Framing, cfg.Pad = retrieval.Full, retrieval.Zero
	c, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	a := &Analyzer{cfg: c, win: c.WindowSamples(), hist: make([]float64, c.NFFT), plan: fft.New(c.NFFT),
		frame: make([]float64, c.NFFT), mag: make([]float64, c.Bins()), spec: make([]complex128, c.Bins())}
	a.Reset()
	return a, nil
}

// Config returns the resolved configuration (Full framing).
func (a *Analyzer) Config() retrieval.Config { return a.cfg }

// Close releases the FFT plan.
func (a *Analyzer) Close() { a.plan.Close() }

// Reset starts a new signal.
func (a *Analyzer) Reset() {
	clear(a.hist)
	a.fill = a.cfg.Padding()
	a.in, a.frames = 0, 0
}

// Write appends samples and calls emit with each frame they complete (the magnitudes slice is
// reused: copy it to keep it). It stops at and returns emit's first error.
func (a *Analyzer) Write(samples []float64, emit func(mag []float64) error) error {
	n := a.cfg.NFFT
	for len(samples) > 0 {
		c := copy(a.hist[a.fill:], samples)
		a.fill += c
		a.in += c
		samples = samples[c:]
		if a.fill == n {
			if err := a.emit(emit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Analyzer) emit(emit func([]float64) error) error {
	for i, w := range a.win {
		a.frame[i] = w * a.hist[i]
	}
	a.plan.Forward(a.spec, a.frame)
	for k, v := range a.spec {
		re, im := real(v), imag(v)
		a.mag[k] = math.Sqrt(re*re + im*im)
	}
	h := a.cfg.Hop
	copy(a.hist, a.hist[h:])
	a.fill -= h
	a.frames++
	return emit(a.mag)
}

// Flush pads the signal with zeros and emits the frames that reach its last sample: after it,
// Frames() = Config().Frames(samples written). Call Reset to start again.
func (a *Analyzer) Flush(emit func(mag []float64) error) error {
	want := a.cfg.Frames(a.in)
	for a.frames < want {
		clear(a.hist[a.fill:])
		a.fill = a.cfg.NFFT
		if err := a.emit(emit); err != nil {
			return err
		}
	}
	return nil
}

// Frames returns the number of frames emitted since Reset.
func (a *Analyzer) Frames() int { return a.frames }

// Samples returns the number of samples written since Reset.
func (a *Analyzer) Samples() int { return a.in }

func checkSameSTFT(a, e retrieval.Config) error {
	if a.NFFT != e.NFFT || a.Hop != e.Hop || a.WinLength != e.WinLength || a.Window != e.Window {
		return fmt.Errorf("stream: analysis (n_fft %d, hop %d, win_length %d, %v) differs from the engine's (n_fft %d, hop %d, win_length %d, %v)",
			a.NFFT, a.Hop, a.WinLength, a.Window, e.NFFT, e.Hop, e.WinLength, e.Window)
	}
	return nil
}
