package retrieval

import (
	"fmt"
	"math"
	"strings"
)

// Window names an analysis/synthesis window shape. The zero value is Hann.
type Window int

const (
	// Hann is w[n] = 0.5 − 0.5·cos(2πn/L) (periodic) — the default, as in librosa and torch.
	Hann Window = iota
	// Hamming is w[n] = 0.54 − 0.46·cos(2πn/L).
	Hamming
	// Blackman is w[n] = 0.42 − 0.5·cos(2πn/L) + 0.08·cos(4πn/L).
	Blackman
	// Gaussian is the truncated Gaussian w[n] = exp(−π·(n − L/2)²/γ) with time-frequency ratio γ
	// in samples² (Config.GaussTFR; default 0.17054·L², which puts the edges at 1 % of the peak).
	// PGHI is exact for a Gaussian window (Průša, Balazs, Søndergaard 2017).
	Gaussian
	// Rectangular is w[n] = 1.
	Rectangular
)

var windowNames = [...]string{"hann", "hamming", "blackman", "gauss", "rect"}

// String returns the window's name as accepted by ParseWindow ("hann", "hamming", "blackman",
// "gauss", "rect").
func (w Window) String() string {
	if w < 0 || int(w) >= len(windowNames) {
		return fmt.Sprintf("Window(%d)", int(w))
	}
	return windowNames[w]
}

// ParseWindow parses a window name: hann (also hanning), hamming, blackman, gauss (also gaussian),
// rect (also rectangular, boxcar). Case is ignored.
func ParseWindow(name string) (Window, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "hann", "hanning":
		return Hann, nil
	case "hamming":
		return Hamming, nil
	case "blackman":
		return Blackman, nil
	case "gauss", "gaussian":
		return Gaussian, nil
	case "rect", "rectangular", "boxcar":
		return Rectangular, nil
	}
	return 0, fmt.Errorf("retrieval: unknown window %q (want hann, hamming, blackman, gauss or rect)", name)
}

// DefaultGaussTFR returns the time-frequency ratio γ (samples²) of the default truncated Gaussian
// window of length winLength: 0.17054·winLength², for which the window falls to 1 % of its peak at
// its ends.
func DefaultGaussTFR(winLength int) float64 {
	return math.Pi / (4 * math.Log(100)) * float64(winLength) * float64(winLength)
}

// TFR returns the time-frequency ratio γ (samples²) that phase-gradient heap integration (PGHI)
// should assume for this window at length winLength: the γ of the Gaussian whose shape it best
// approximates — 0.25645·L² for Hann, 0.29794·L² for Hamming, 0.17954·L² for Blackman, as in
// LTFAT's pghi (Průša, Balazs, Søndergaard 2017, Table I) — or, for Gaussian, gaussTFR itself
// (DefaultGaussTFR when gaussTFR ≤ 0). Rectangular windows have no useful γ; 0 is returned.
func (w Window) TFR(winLength int, gaussTFR float64) float64 {
	l2 := float64(winLength) * float64(winLength)
	switch w {
	case Hann:
		return 0.25645 * l2
	case Hamming:
		return 0.29794 * l2
	case Blackman:
		return 0.17954 * l2
	case Gaussian:
		if gaussTFR > 0 {
			return gaussTFR
		}
		return DefaultGaussTFR(winLength)
	}
	return 0
}

// WindowSymmetry selects the period of a window of L samples (Window.Samples).
type WindowSymmetry int

const (
	// PeriodicWindow is "DFT-even", period L, as scipy.signal.get_window and librosa use. The
	// zero value.
	PeriodicWindow WindowSymmetry = iota
	// SymmetricWindow has period L−1, as MATLAB's hann/hamming default (Config.Symmetric).
	SymmetricWindow
)

var windowSymmetryNames = [...]string{"periodic", "symmetric"}

// String returns "periodic" or "symmetric", or "unknown(N)".
func (s WindowSymmetry) String() string { return enumString(windowSymmetryNames[:], int(s)) }

// Samples fills dst (length L ≥ 1) with the window of symmetry sym and returns it; a nil dst
// allocates. gaussTFR is γ for Gaussian (≤ 0: default) and is ignored otherwise.
func (w Window) Samples(dst []float64, length int, sym WindowSymmetry, gaussTFR float64) []float64 {
	if length < 1 {
		panic(fmt.Sprintf("retrieval: window length %d < 1", length))
	}
	if dst == nil {
		dst = make([]float64, length)
	}
	if len(dst) != length {
		panic(fmt.Sprintf("retrieval: window dst has length %d, want %d", len(dst), length))
	}
	if length == 1 {
		dst[0] = 1
		return dst
	}
	period := float64(length)
	if sym == SymmetricWindow {
		period = float64(length - 1)
	}
	gamma := gaussTFR
	if gamma <= 0 {
		gamma = DefaultGaussTFR(length)
	}
	for n := range dst {
		ph := 2 * math.Pi * float64(n) / period
		switch w {
		case Hann:
			dst[n] = 0.5 - 0.5*math.Cos(ph)
		case Hamming:
			dst[n] = 0.54 - 0.46*math.Cos(ph)
		case Blackman:
			dst[n] = 0.42 - 0.5*math.Cos(ph) + 0.08*math.Cos(2*ph)
		case Gaussian:
			d := float64(n) - period/2
			dst[n] = math.Exp(-math.Pi * d * d / gamma)
		case Rectangular:
			dst[n] = 1
		default:
			panic(fmt.Sprintf("retrieval: unknown window %d", int(w)))
		}
	}
	if w == Blackman {
		// The formula gives −1.4e-17 at the ends; clamp so the window is non-negative.
		for n := range dst {
			if dst[n] < 0 {
				dst[n] = 0
			}
		}
	}
	return dst
}
