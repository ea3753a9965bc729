package fft

import (
	"fmt"
	"strings"

	"github.com/rephase/rephase/internal/enum"
)

// Precision is the floating-point format a magnitude pass computes its FFTs and per-bin map in.
// Inputs, outputs and the accumulated gradient are float64 either way.
type Precision int

const (
	// Float64 is double precision throughout (the default): spectral convergence can reach the
	// −169 dB of MATLAB's exponential-chirp example.
	Float64 Precision = iota
	// Float32 runs the windowed frame, both FFTs (FFTW's single-precision fftwf plans) and the
	// per-bin map in single precision, with AVX2 doing eight bins per instruction instead of four,
	// and accumulates the gradient in float64. Its relative rounding (about 1e-7 per value,
	// 1e-6 through an n_fft 512–2048 transform) puts a floor near −120 dB under the spectral
	// convergence, far below what streaming reaches; benchmarks/REPORT.md measures it against
	// Float64. The pure-Go build has no single-precision FFT and computes Float32 passes in
	// float64 (SinglePrecision reports which).
	Float32
)

// SinglePrecision is true when this build runs Float32 passes in single precision (FFTW), false
// when it computes them in float64 (the pure-Go build).
const SinglePrecision = singlePrecision

var precisionNames = []string{"float64", "float32"}

// String returns "float64" or "float32", or "unknown(N)" for an undefined value.
func (p Precision) String() string { return enum.Name(precisionNames, int(p)) }

// MarshalText implements encoding.TextMarshaler: "float64" or "float32" (an error for an
// undefined value).
func (p Precision) MarshalText() ([]byte, error) {
	return enum.Marshal(precisionNames, int(p), "fft", "precision")
}

// UnmarshalText implements encoding.TextUnmarshaler: "float64" (or "double", "64") and "float32"
// (or "single", "32"), any case.
func (p *Precision) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "float64", "double", "64":
		*p = Float64
	case "float32", "single", "32":
		*p = Float32
	default:
		return fmt.Errorf("fft: unknown precision %q (want float64 or float32)", b)
	}
	return nil
}

// SinglePass is Plan.MagnitudePass in the Float32 precision: the same fused frame pass (window,
// forward FFT, per-bin map, inverse FFT, windowed accumulation), with the frame and its spectrum
// held in float32 in buffers the SinglePass owns. Create it once per length (planning allocates
// and may take milliseconds, like New); MagnitudePass does not allocate. Not safe for concurrent
// use; creating and closing SinglePasses from several goroutines is safe.
type SinglePass struct {
	n    int
	impl singleBackend
}

type singleBackend interface {
	magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int) float64
	magnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int) float64
	close()
}

// NewSinglePass plans single-precision passes of length n. It panics if n < 2 or n is odd.
func NewSinglePass(n int) *SinglePass {
	checkLen(n)
	return &SinglePass{n: n, impl: newSingleDefault(n)}
}

// Len returns the transform length n.
func (p *SinglePass) Len() int { return p.n }

// MagnitudePass is Plan.MagnitudePass (same formula, lengths, panics and return value) computed
// in single precision; the frame and spectrum scratch are the SinglePass's own. The returned
// loss sum is accumulated in float64 from single-precision residuals.
func (p *SinglePass) MagnitudePass(acc, x, win, t []float64, alpha, beta float64, from int) float64 {
	n := p.n
	if len(x) != n || len(win) != n || len(t) != n/2+1 || (acc != nil && len(acc) != n) || from < 0 || from > n {
		panic(fmt.Sprintf("fft: SinglePass.MagnitudePass lengths x=%d win=%d t=%d acc=%d from=%d for n=%d",
			len(x), len(win), len(t), len(acc), from, n))
	}
	return p.impl.magnitudePass(acc, x, win, t, alpha, beta, from)
}

// MagnitudePasses is Plan.MagnitudePasses (same frames, lengths, panics and return value) computed
// in single precision, in one cgo call with FFTW. There it runs the frames two at a time through
// one complex FFT each way (the real frames as the real and imaginary parts; an odd last frame
// alone), which costs about 0.7 of two real FFT pairs with Debian's FFTW, whose complex
// single-precision plans are AVX throughout but whose real ones end in scalar code. A frame's
// result therefore differs from MagnitudePass's in the last bits; the losses are summed pair by
// pair. When a pair's peaks differ by more than 2⁶, the quieter frame is scaled by a power of two
// around the FFTs (exactly undone), so that each frame keeps single precision's rounding of its
// own size rather than its partner's (TestSingleMagnitudePassesPerFrameLevels: 120 dB apart). A
// NaN or infinity in one frame of a pair also reaches the other's result. Deterministic: the same
// inputs give the same bits.
func (p *SinglePass) MagnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int) float64 {
	checkPasses("SinglePass.MagnitudePasses", p.n, acc, x, win, t, hop, frames)
	if frames == 0 {
		return 0
	}
	return p.impl.magnitudePasses(acc, x, win, t, hop, frames, alpha, beta, fixed)
}

// Close releases the FFTW plans and buffers; the SinglePass must not be used afterwards.
// Idempotent.
func (p *SinglePass) Close() {
	if p.impl != nil {
		p.impl.close()
		p.impl = nil
	}
}
