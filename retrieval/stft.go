// Package retrieval is the numerical core of rephase: the STFT and its least-squares inverse, the
// magnitude loss and its gradient shared by every phase-retrieval algorithm, the preconditioner
// that makes one unit gradient step a Griffin-Lim iteration, and the quality metrics.
//
// Layout conventions: a spectrogram of M frames and K = n_fft/2+1 one-sided bins is a flat slice,
// frames × bins, row-major (frame m is spec[m*K:(m+1)*K]). Signals are []float64 of samples.
// Magnitudes are linear (not dB).
//
// The mathematics follows docs/design.md ("Notation and framing", "The loss and its gradient",
// "Preconditioning"): frame m starts at sample m·hop − p (p = padding), and
//
//	X[m,k] = Σ_n w[n]·x[m·hop − p + n]·exp(−2πi·k·n/N)   (the frame-start phase convention).
package retrieval

import (
	"fmt"
	"io"
	"math"
	"math/cmplx"

	"github.com/rephase/rephase/retrieval/fft"
)

// Framing selects where frames sit relative to the signal. The zero value is Center.
type Framing int

const (
	// Center is the librosa / torch.stft(center=True) convention: the signal is padded by
	// n_fft/2 on each side (see PadMode), frame m is centred on sample m·hop, and there are
	// 1 + L/hop frames (integer division).
	Center Framing = iota
	// Full pads with zeros so that every sample lies in the same number of frames (n_fft/hop
	// when hop divides n_fft): frame m starts at m·hop − p with p = (⌈n_fft/hop⌉ − 1)·hop, and
	// the last frame is the last one that starts before the end of the signal.
	Full
	// Inner is torch.stft(center=False): no padding, frame m starts at sample m·hop, and there are
	// 1 + (L − n_fft)/hop frames (L ≥ n_fft); samples after the last frame are not analysed.
	Inner
)

// String returns "center", "full" or "inner".
func (f Framing) String() string {
	switch f {
	case Center:
		return "center"
	case Full:
		return "full"
	case Inner:
		return "inner"
	}
	return fmt.Sprintf("Framing(%d)", int(f))
}

// PadMode selects how Center framing fills the n_fft/2 samples beyond each end of the signal.
// The zero value is Reflect.
type PadMode int

const (
	// Reflect mirrors the signal about its end samples without repeating them (numpy's
	// "reflect", torch.stft's default). The padded samples are functions of the signal, so the
	// forward model and its adjoint include the reflection: the gradient of a padded sample folds
	// back onto the sample it mirrors.
	Reflect PadMode = iota
	// Zero pads with zeros (numpy's "constant", librosa ≥ 0.10's default).
	Zero
)

// String returns "reflect" or "zero".
func (p PadMode) String() string {
	switch p {
	case Reflect:
		return "reflect"
	case Zero:
		return "zero"
	}
	return fmt.Sprintf("PadMode(%d)", int(p))
}

// Config describes an STFT. The zero value is the documented default: n_fft 512, Hann
// (periodic), win_length n_fft, hop win_length/4, Center framing with Reflect padding.
type Config struct {
	// NFFT is the DFT length n_fft in samples; it must be even. 0 means 512.
	NFFT int
	// Hop is the hop length in samples, 1 ≤ Hop ≤ WinLength. 0 means WinLength/4.
	Hop int
	// WinLength is the window length in samples, 1 ≤ WinLength ≤ NFFT; a shorter window is
	// zero-padded to NFFT, centred (as librosa does). 0 means NFFT.
	WinLength int
	// Window is the window shape (default Hann).
	Window Window
	// Symmetric selects the symmetric window (period L−1) instead of the periodic one.
	Symmetric bool
	// GaussTFR is γ in samples² for the Gaussian window; ≤ 0 means DefaultGaussTFR(WinLength).
	GaussTFR float64
	// Framing is Center (default) or Full.
	Framing Framing
	// Pad is the padding of Center framing, Reflect (default) or Zero; Full always pads zeros.
	Pad PadMode
}

// Resolve returns c with every zero field replaced by its default, or an error naming the
// invalid field. It also refuses a window and hop that violate the NOLA condition (see
// scipy.signal.check_NOLA): samples where no frame's window is above 1e-10 in energy cannot be
// recovered from any STFT.
func (c Config) Resolve() (Config, error) {
	if c.NFFT == 0 {
		c.NFFT = 512
	}
	if c.NFFT < 2 || c.NFFT%2 != 0 {
		return c, fmt.Errorf("retrieval: n_fft %d must be an even number ≥ 2", c.NFFT)
	}
	if c.WinLength == 0 {
		c.WinLength = c.NFFT
	}
	if c.WinLength < 1 || c.WinLength > c.NFFT {
		return c, fmt.Errorf("retrieval: win_length %d must lie in [1, n_fft=%d]", c.WinLength, c.NFFT)
	}
	if c.Hop == 0 {
		c.Hop = c.WinLength / 4
		if c.Hop < 1 {
			c.Hop = 1
		}
	}
	if c.Hop < 1 || c.Hop > c.WinLength {
		return c, fmt.Errorf("retrieval: hop length %d must lie in [1, win_length=%d]", c.Hop, c.WinLength)
	}
	if c.Window < Hann || c.Window > Rectangular {
		return c, fmt.Errorf("retrieval: unknown window %d", int(c.Window))
	}
	if c.Framing != Center && c.Framing != Full && c.Framing != Inner {
		return c, fmt.Errorf("retrieval: unknown framing %d", int(c.Framing))
	}
	if c.Pad != Reflect && c.Pad != Zero {
		return c, fmt.Errorf("retrieval: unknown pad mode %d", int(c.Pad))
	}
	if t, e := c.nolaMin(); !(e > nolaTol) {
		return c, fmt.Errorf("retrieval: %v window of win_length %d with hop %d violates NOLA (overlap energy Σ_m w²[t − m·hop] is %.3g at t ≡ %d mod hop): "+
			"those samples cannot be recovered; use a smaller hop", c.Window, c.WinLength, c.Hop, e, t)
	}
	return c, nil
}

// nolaTol is scipy.signal.check_NOLA's default tolerance on the window's overlap energy (the
// windows here peak at 1).
const nolaTol = 1e-10

// nolaMin returns the smallest overlap energy D(t) = Σ_m w²[t + m·hop] over t in [0, hop) of
// the n_fft-sample window, and where it occurs. The nonzero-overlap-add (NOLA) condition,
// D(t) > 0 for every t, is what the least-squares ISTFT (and every preconditioned gradient step)
// divides by: where it fails, no STFT constrains the samples (scipy.signal.check_NOLA; Hann with
// hop = n_fft fails at the frame edges).
func (c Config) nolaMin() (int, float64) {
	w := c.WindowSamples()
	best, at := math.Inf(1), 0
	for t := 0; t < c.Hop; t++ {
		d := 0.0
		for n := t; n < len(w); n += c.Hop {
			d += w[n] * w[n]
		}
		if d < best {
			best, at = d, t
		}
	}
	return at, best
}

// Bins returns n_fft/2+1 for a resolved config.
func (c Config) Bins() int { return c.NFFT/2 + 1 }

// WindowSamples returns the analysis window of the resolved config: WinLength samples of the
// window shape, zero-padded to NFFT and centred (offset (NFFT−WinLength)/2, as librosa).
// It allocates.
func (c Config) WindowSamples() []float64 {
	w := make([]float64, c.NFFT)
	off := (c.NFFT - c.WinLength) / 2
	sym := PeriodicWindow
	if c.Symmetric {
		sym = SymmetricWindow
	}
	c.Window.Samples(w[off:off+c.WinLength], c.WinLength, sym, c.GaussTFR)
	return w
}

// Padding returns p, the number of samples by which frame 0 starts before sample 0.
func (c Config) Padding() int {
	switch c.Framing {
	case Center:
		return c.NFFT / 2
	case Inner:
		return 0
	}
	return (ceilDiv(c.NFFT, c.Hop) - 1) * c.Hop
}

// Frames returns the number of frames M for a signal of length samples.
func (c Config) Frames(length int) int {
	if length < 1 {
		return 0
	}
	switch c.Framing {
	case Center:
		return 1 + length/c.Hop
	case Inner:
		if length < c.NFFT {
			return 0
		}
		return 1 + (length-c.NFFT)/c.Hop
	}
	return (length-1+c.Padding())/c.Hop + 1
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// STFT is a short-time Fourier transform planned for one configuration and one signal length L:
// analysis, least-squares synthesis, the magnitude loss and its gradient, the preconditioner and
// the metrics built on them.
//
// Shapes: signals have Length() samples; spectrograms are Frames() × Bins(), row-major.
//
// NewSTFT allocates every buffer, O(n_fft) values whatever the length (the per-sample
// normalisations are stored as their ends and one hop-periodic stretch); afterwards no method
// allocates except those that say so (a nil destination, ConvertPhase's table on its first call,
// MagnitudeFrom's read window, WindowSumSquare). An STFT is not safe for concurrent use: it owns
// its scratch buffers; use one per goroutine.
type STFT struct {
	cfg    Config
	length int
	frames int
	bins   int
	pad    int

	win  []float64 // n_fft
	plan *fft.Plan // owned; Problems on this STFT borrow it (see NewProblem)

	// groups partitions the frames into contiguous runs: interior frames read the signal (and
	// write the gradient) in place; frames that reach into the padding work on small padded
	// buffers that are gathered from, and folded back onto, the signal.
	groups []frameGroup

	// Per-sample tables, stored as their ends and one hop-periodic stretch (see sampleTable).
	wss       sampleTable // folded Σ_m w²[t − s_m]
	invWss    sampleTable // 1/wss where wss > tiny, else 0
	synthNorm sampleTable // invWss/n_fft: the least-squares ISTFT's normalisation

	frame []float64    // n_fft
	spec  []complex128 // bins

	twiddle []complex128 // exp(2πi·j/N), allocated on first ConvertPhase
}

// NewSTFT plans an STFT of signals of length samples. It returns an error if cfg does not resolve
// or length < 1.
func NewSTFT(cfg Config, length int) (*STFT, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if length < 1 {
		return nil, fmt.Errorf("retrieval: signal length %d: need at least 1 sample", length)
	}
	if c.Framing == Inner && length < c.NFFT {
		return nil, fmt.Errorf("retrieval: signal length %d is shorter than n_fft %d (inner framing)", length, c.NFFT)
	}
	s := &STFT{cfg: c, length: length, bins: c.Bins(), pad: c.Padding()}
	s.frames = c.Frames(length)
	s.win = c.WindowSamples()
	s.plan = fft.New(c.NFFT)
	s.buildGroups()
	s.frame = make([]float64, c.NFFT)
	s.spec = make([]complex128, s.bins)

	s.wss = s.overlapEnergy()
	maxW := s.wss.max()
	s.invWss = s.wss.mapped(func(v float64) float64 {
		if v > 1e-10*maxW {
			return 1 / v
		}
		return 0
	})
	scale := 1 / float64(c.NFFT)
	s.synthNorm = s.invWss.mapped(func(v float64) float64 { return v * scale })
	return s, nil
}

// reflectIndex maps an index t outside [0, L) to the sample numpy's "reflect" padding copies
// there: reflection about 0 and L−1 without repeating the end samples, periodic with 2(L−1).
// ReflectIndex returns the sample that index t (any integer) reads under reflect padding of a
// signal of length samples (numpy's "reflect": the edge sample is not repeated), as librosa's and
// torch.stft's center=True framing do. It panics if length < 1.
func ReflectIndex(t, length int) int { return reflectIndex(t, length) }

func reflectIndex(t, length int) int {
	if length == 1 {
		return 0
	}
	period := 2 * (length - 1)
	t %= period
	if t < 0 {
		t += period
	}
	if t >= length {
		t = period - t
	}
	return t
}

// Close releases the FFT plan. The STFT must not be used afterwards.
func (s *STFT) Close() { s.plan.Close() }

// Config returns the resolved configuration.
func (s *STFT) Config() Config { return s.cfg }

// Length returns the signal length L in samples.
func (s *STFT) Length() int { return s.length }

// Frames returns the number of frames M.
func (s *STFT) Frames() int { return s.frames }

// Bins returns the number of one-sided bins K = n_fft/2+1.
func (s *STFT) Bins() int { return s.bins }

// Window returns the n_fft-sample analysis window (shared; do not modify).
func (s *STFT) Window() []float64 { return s.win }

// FrameStart returns s_m = m·hop − p, the signal index of frame m's first sample (negative for
// frames that start in the padding).
func (s *STFT) FrameStart(m int) int { return m*s.cfg.Hop - s.pad }

// WindowSumSquare returns Σ_m w²[t − s_m] for every signal sample t (folded through the padding),
// the overlap energy that normalises the least-squares ISTFT, in a new slice of Length() samples
// (the STFT itself stores only its ends and one hop-periodic stretch).
func (s *STFT) WindowSumSquare() []float64 { return s.wss.expand(1) }

// frameGroup is a run of frames [m0, m1) and the buffer they read: for an interior run the
// signal itself from sample start = s_{m0}; otherwise a padded buffer whose sample i is signal
// sample src[i] (−1: a zero of the padding).
type frameGroup struct {
	m0, m1 int
	start  int       // s_{m0}
	src    []int32   // nil for an interior run
	xb, gb []float64 // padded buffers (len(src)), nil for an interior run
	lo, hi int       // the signal samples the run reads: [lo, hi) (empty if only zeros)
}

// buildGroups splits the frames into a head run (frames starting before sample 0), an interior
// run and a tail run (frames reaching past the samples present unpadded). Short signals, where
// the head and tail meet, get a single padded run.
func (s *STFT) buildGroups() {
	hop, n := s.cfg.Hop, s.cfg.NFFT
	head := 0
	for head < s.frames && s.FrameStart(head) < 0 {
		head++
	}
	tail := head
	for tail < s.frames && s.FrameStart(tail)+n <= s.length {
		tail++
	}
	add := func(m0, m1 int, interior bool) {
		if m1 <= m0 {
			return
		}
		g := frameGroup{m0: m0, m1: m1, start: s.FrameStart(m0)}
		if !interior {
			span := (m1-m0-1)*hop + n
			g.src = make([]int32, span)
			g.xb = make([]float64, span)
			g.gb = make([]float64, span)
			for i := range g.src {
				t := g.start + i
				switch {
				case t >= 0 && t < s.length:
					g.src[i] = int32(t)
				case s.cfg.Framing == Center && s.cfg.Pad == Reflect:
					g.src[i] = int32(reflectIndex(t, s.length))
				default:
					g.src[i] = -1
				}
			}
		}
		g.lo, g.hi = g.start, g.start+(m1-m0-1)*hop+n
		if !interior {
			g.lo, g.hi = s.length, 0
			for _, t := range g.src {
				if t >= 0 {
					g.lo, g.hi = min(g.lo, int(t)), max(g.hi, int(t)+1)
				}
			}
		}
		s.groups = append(s.groups, g)
	}
	if tail == head && head < s.frames { // no interior frame: one padded run
		add(0, s.frames, false)
		return
	}
	add(0, head, false)
	add(head, tail, true)
	add(tail, s.frames, false)
}

// signal returns the buffer that frame g.m0+j reads at offset j·hop: x itself or the padded
// buffer gathered from x.
func (g *frameGroup) signal(x []float64) []float64 {
	if g.src == nil {
		return x[g.start:]
	}
	for i, t := range g.src {
		if t >= 0 {
			g.xb[i] = x[t]
		} else {
			g.xb[i] = 0
		}
	}
	return g.xb
}

// gradBuffer returns where the run's frames accumulate their gradient: grad itself, or the
// cleared padded buffer that fold later adds onto grad.
func (g *frameGroup) gradBuffer(grad []float64) []float64 {
	if g.src == nil {
		return grad[g.start:]
	}
	clear(g.gb)
	return g.gb
}

// fold adds the padded gradient buffer onto grad (the adjoint of the gather in signal); a no-op
// for an interior run.
func (g *frameGroup) fold(grad []float64) {
	for i, t := range g.src {
		if t >= 0 {
			grad[t] += g.gb[i]
		}
	}
}

// eval adds the loss of the run's frames (fl's penalty against the target rows tgt of the
// whole spectrogram, bins values each) and returns it, and, when grad is not nil, adds their
// gradient onto grad (through the padded buffer and its fold for a padded run).
func (g *frameGroup) eval(fl *FrameLoss, grad, x, tgt []float64, bins int) float64 {
	var gb []float64
	if grad != nil {
		gb = g.gradBuffer(grad)
	}
	f := fl.Eval(gb, g.signal(x), tgt[g.m0*bins:], 0, g.m1-g.m0, 0)
	if grad != nil {
		g.fold(grad)
	}
	return f
}

func (s *STFT) checkSignal(n int) {
	if n != s.length {
		panic(fmt.Sprintf("retrieval: signal has %d samples, the STFT was planned for %d", n, s.length))
	}
}

func (s *STFT) checkSpec(n int, what string) {
	if n != s.frames*s.bins {
		panic(fmt.Sprintf("retrieval: %s has %d values, want frames × bins = %d × %d", what, n, s.frames, s.bins))
	}
}

// Forward computes the complex STFT of x (Length() samples) into dst (Frames() × Bins()) in the
// frame-start phase convention and returns dst; nil dst allocates. It panics on wrong lengths.
func (s *STFT) Forward(dst []complex128, x []float64) []complex128 {
	if dst == nil {
		dst = make([]complex128, s.frames*s.bins)
	}
	s.checkSpec(len(dst), "spectrogram")
	s.analyze(x, dst, nil)
	return dst
}

// analyze runs the windowed forward FFT of every frame of x, writing the spectra into spec or,
// when spec is nil, their magnitudes into mag.
func (s *STFT) analyze(x []float64, spec []complex128, mag []float64) {
	s.checkSignal(len(x))
	hop, n := s.cfg.Hop, s.cfg.NFFT
	for gi := range s.groups {
		g := &s.groups[gi]
		buf := g.signal(x)
		for m := g.m0; m < g.m1; m++ {
			o := (m - g.m0) * hop
			mulTo(s.frame, s.win, buf[o:o+n])
			if spec != nil {
				s.plan.Forward(spec[m*s.bins:(m+1)*s.bins], s.frame)
				continue
			}
			s.plan.Forward(s.spec, s.frame)
			row := mag[m*s.bins : (m+1)*s.bins]
			for k, v := range s.spec {
				row[k] = math.Hypot(real(v), imag(v))
			}
		}
	}
}

// Magnitude computes |STFT(x)| into dst (Frames() × Bins()) and returns it; nil dst allocates.
func (s *STFT) Magnitude(dst []float64, x []float64) []float64 {
	if dst == nil {
		dst = make([]float64, s.frames*s.bins)
	}
	s.checkSpec(len(dst), "magnitude")
	s.analyze(x, nil, dst)
	return dst
}

// MagnitudeFrom computes |STFT(x)| into dst (Frames() × Bins()) and returns it (nil dst
// allocates), reading the Length() samples of x in order through read instead of from a slice:
// read fills a prefix of its argument with the next samples and returns how many (> 0), or 0 and
// an error (io.EOF at the end). It holds a window of max(4·n_fft, 65 536) samples (more only for
// a signal whose padded end frames read further apart), so the signal need never be in memory
// whole; the magnitudes are those of Magnitude to the last bit. It returns read's error, or an
// error if x ends before Length() samples (all of which it reads); samples after those are not
// read.
func (s *STFT) MagnitudeFrom(dst []float64, read func(p []float64) (int, error)) ([]float64, error) {
	if dst == nil {
		dst = make([]float64, s.frames*s.bins)
	}
	s.checkSpec(len(dst), "magnitude")
	hop, n, b := s.cfg.Hop, s.cfg.NFFT, s.bins
	w := sampleWindow{read: read, length: s.length, buf: make([]float64, max(4*n, 1<<16))}
	frame := func(m int, src []float64) {
		mulTo(s.frame, s.win, src)
		s.plan.Forward(s.spec, s.frame)
		row := dst[m*b : (m+1)*b]
		for k, v := range s.spec {
			row[k] = math.Hypot(real(v), imag(v))
		}
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.src == nil {
			for m := g.m0; m < g.m1; m++ {
				st := s.FrameStart(m)
				src, err := w.span(st, st+n)
				if err != nil {
					return nil, err
				}
				frame(m, src)
			}
			continue
		}
		src, err := w.span(g.lo, g.hi)
		if err != nil {
			return nil, err
		}
		for i, t := range g.src {
			if t >= 0 {
				g.xb[i] = src[int(t)-g.lo]
			} else {
				g.xb[i] = 0
			}
		}
		for m := g.m0; m < g.m1; m++ {
			o := (m - g.m0) * hop
			frame(m, g.xb[o:o+n])
		}
	}
	if _, err := w.span(s.length-1, s.length); err != nil { // Inner framing's unanalysed end
		return nil, err
	}
	return dst, nil
}

// sampleWindow holds the samples [base, base+have) of a signal of length samples read in order
// through read.
type sampleWindow struct {
	read       func(p []float64) (int, error)
	length     int
	buf        []float64
	base, have int
}

// span returns the samples [lo, hi) (empty for lo ≥ hi), reading as far as hi; when the buffer
// is full it drops the samples before lo (growing only if [lo, hi) itself does not fit). lo must
// not fall below an earlier call's lo.
func (w *sampleWindow) span(lo, hi int) ([]float64, error) {
	if lo >= hi {
		return nil, nil
	}
	if lo < w.base {
		panic(fmt.Sprintf("retrieval: sample %d already dropped (window from %d)", lo, w.base))
	}
	for w.base+w.have < hi {
		if w.have == len(w.buf) {
			if d := min(lo, w.base+w.have) - w.base; d > 0 {
				w.have = copy(w.buf, w.buf[d:w.have])
				w.base += d
			} else {
				w.buf = append(w.buf, make([]float64, hi-lo-len(w.buf))...)
			}
		}
		want := min(len(w.buf)-w.have, w.length-w.base-w.have)
		k := 0
		var err error
		if want > 0 {
			k, err = w.read(w.buf[w.have : w.have+want])
		}
		if k > 0 {
			w.have += k
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return nil, fmt.Errorf("retrieval: the signal ended after %d of %d samples", w.base+w.have, w.length)
	}
	return w.buf[lo-w.base : hi-w.base], nil
}

// Inverse computes the least-squares ISTFT (Griffin & Lim 1984, eq. 6) of spec (Frames() ×
// Bins(), frame-start convention) into dst (Length() samples) and returns it; nil dst allocates:
//
//	x[t] = Σ_m w[t − s_m]·irfft(spec[m])[t − s_m] / Σ_m w²[t − s_m]
//
// with both sums folded through the padding, so that for Reflect padding it is the exact
// least-squares solution including the mirrored samples. Samples no frame covers with non-zero
// window weight come out 0. spec is not modified.
func (s *STFT) Inverse(dst []float64, spec []complex128) []float64 {
	if dst == nil {
		dst = make([]float64, s.length)
	}
	if len(dst) != s.length {
		panic(fmt.Sprintf("retrieval: Inverse dst has %d samples, want %d", len(dst), s.length))
	}
	s.checkSpec(len(spec), "spectrogram")
	s.overlapAdd(dst, func(m int, frame []complex128) {
		copy(frame, spec[m*s.bins:(m+1)*s.bins]) // the c2r destroys its input: spec stays intact
	})
	return dst
}

// PhaseConvention says where the time origin of each frame's phase lies.
type PhaseConvention int

const (
	// FrameStart measures phase from each frame's first sample (the definition of X above, and
	// what an FFT of the windowed frame gives).
	FrameStart PhaseConvention = iota
	// FrameCentre measures phase from each frame's centre n_fft/2: X_c[m,k] = (−1)^k·X[m,k]. A
	// symmetric window and a pulse at the frame centre give zero phase; zero-phase initialisation
	// should use this convention.
	FrameCentre
	// Absolute measures phase from sample 0 of the signal (LTFAT's time-invariant convention):
	// X_a[m,k] = exp(−2πi·k·s_m/N)·X[m,k].
	Absolute
)

// ConvertPhase rewrites spec (Frames() × Bins()) in place from one phase convention to another.
// It allocates an n_fft-entry twiddle table on its first call only.
func (s *STFT) ConvertPhase(spec []complex128, from, to PhaseConvention) {
	s.checkSpec(len(spec), "spectrogram")
	if from == to {
		return
	}
	n := s.cfg.NFFT
	if s.twiddle == nil {
		s.twiddle = make([]complex128, n)
		for j := range s.twiddle {
			s.twiddle[j] = cmplx.Rect(1, 2*math.Pi*float64(j)/float64(n))
		}
	}
	// origin returns the time origin of convention c in samples after frame m's start.
	origin := func(c PhaseConvention, m int) int {
		switch c {
		case FrameCentre:
			return n / 2
		case Absolute:
			return -s.FrameStart(m)
		}
		return 0
	}
	for m := 0; m < s.frames; m++ {
		// Moving the origin o samples later multiplies bin k by exp(+2πi·k·o/N).
		d := origin(to, m) - origin(from, m)
		d = ((d % n) + n) % n
		row := spec[m*s.bins : (m+1)*s.bins]
		j := 0
		for k := range row {
			row[k] *= s.twiddle[j]
			j += d
			if j >= n {
				j -= n
			}
		}
	}
}

// sampleTable is a per-sample table of a signal of length L that is hop-periodic away from the
// ends, stored in O(n_fft) values instead of L: head holds t < len(head), tail holds t ≥ tailAt,
// and in between value(t) = per[(t − len(head)) mod hop]. Sums of the window over the frames
// that cover a sample, such as the overlap energy Σ_m w²[t − s_m], are steady wherever every
// such frame exists and none of them reaches into the padding; that is everywhere but within
// about n_fft of the ends (overlapEnergy). A short signal keeps its whole table in head.
type sampleTable struct {
	head, per, tail []float64
	tailAt, length  int
}

// at returns the value for sample t (0 ≤ t < length).
func (tb *sampleTable) at(t int) float64 {
	switch {
	case t < len(tb.head):
		return tb.head[t]
	case t >= tb.tailAt:
		return tb.tail[t-tb.tailAt]
	}
	return tb.per[(t-len(tb.head))%len(tb.per)]
}

// mulInto multiplies dst[t] by the value for sample t, for every t < length (len(dst)). It does
// not allocate.
func (tb *sampleTable) mulInto(dst []float64) { tb.mulRange(dst[:tb.length], 0, tb.length) }

// mulRange multiplies dst[t] by the value for sample t for lo ≤ t < hi (dst holds the whole
// signal). It does not allocate.
func (tb *sampleTable) mulRange(dst []float64, lo, hi int) {
	k := len(tb.head)
	for t := lo; t < min(hi, k); t++ {
		dst[t] *= tb.head[t]
	}
	if a, e := max(lo, k), min(hi, tb.tailAt); a < e {
		per := tb.per
		j := (a - k) % len(per)
		for t := a; t < e; t++ {
			dst[t] *= per[j]
			if j++; j == len(per) {
				j = 0
			}
		}
	}
	for t := max(lo, tb.tailAt); t < hi; t++ {
		dst[t] *= tb.tail[t-tb.tailAt]
	}
}

// mapped returns the table of f(value) (the same layout).
func (tb sampleTable) mapped(f func(float64) float64) sampleTable {
	apply := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = f(x)
		}
		return out
	}
	return sampleTable{head: apply(tb.head), per: apply(tb.per), tail: apply(tb.tail), tailAt: tb.tailAt, length: tb.length}
}

// expand returns the table's values times scale for every sample, in a new slice of length
// values.
func (tb *sampleTable) expand(scale float64) []float64 {
	out := make([]float64, tb.length)
	for t := range out {
		out[t] = tb.at(t) * scale
	}
	return out
}

// max returns the largest value over the samples.
func (tb *sampleTable) max() float64 {
	m := 0.0
	for _, v := range tb.head {
		m = math.Max(m, v)
	}
	if tb.tailAt > len(tb.head) {
		for _, v := range tb.per {
			m = math.Max(m, v)
		}
	}
	for _, v := range tb.tail {
		m = math.Max(m, v)
	}
	return m
}

// overlapEnergy returns the window overlap energy Σ_m w²[t − s_m], folded through the padding like
// a gradient (the reflected samples' share added onto the samples they mirror), as a
// sampleTable. Each stored value is summed in the order a whole-signal accumulation would sum it
// (frame by frame, the padded runs folded in after their own sums), so that the values are the
// same to the last bit. Interior samples are steady once every frame that covers them is an
// interior frame: from 2·n_fft + 2·hop on at the start and before as many samples from the end
// (frames reach at most n_fft − 1 samples into the signal from the padding, and the last frame
// starts less than hop + n_fft before the end).
func (s *STFT) overlapEnergy() sampleTable {
	k := 2*s.cfg.NFFT + 2*s.cfg.Hop
	tb := sampleTable{length: s.length}
	if s.length < 2*k+s.cfg.Hop {
		tb.head = s.foldedEnergy(0, s.length)
		tb.tailAt = s.length
		return tb
	}
	tb.head = s.foldedEnergy(0, k)
	tb.per = s.foldedEnergy(k, k+s.cfg.Hop)
	tb.tailAt = s.length - k
	tb.tail = s.foldedEnergy(tb.tailAt, s.length)
	return tb
}

// foldedEnergy returns the folded Σ_m w²[t − s_m] for the samples lo ≤ t < hi, accumulated in
// the same order as over the whole signal: run by run, frame by frame, a padded run summed in its
// own buffer and then folded onto the samples it reads.
func (s *STFT) foldedEnergy(lo, hi int) []float64 {
	out := make([]float64, hi-lo)
	hop, n := s.cfg.Hop, s.cfg.NFFT
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.src == nil {
			for m := g.m0; m < g.m1; m++ {
				st := s.FrameStart(m)
				a, b := max(st, lo), min(st+n, hi)
				if a < b {
					mulAddTo(out[a-lo:b-lo], s.win[a-st:], s.win[a-st:])
				}
			}
			continue
		}
		buf := g.gradBuffer(nil)
		for m := 0; m < g.m1-g.m0; m++ {
			mulAddTo(buf[m*hop:m*hop+n], s.win, s.win)
		}
		for i, t := range g.src {
			if int(t) >= lo && int(t) < hi {
				out[int(t)-lo] += buf[i]
			}
		}
	}
	return out
}
