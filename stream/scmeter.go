package stream

import (
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// SCMeter measures the spectral convergence of an estimate against a reference while both stream
// past, framed exactly as retrieval.STFTSpectralConvergenceDB frames them (center framing,
// reflect padding, the configuration's n_fft, hop, win_length and window), so that a command can
// report the figure for a signal of any length without holding it: it keeps the first n_fft
// samples of each signal (the reflection at the start) and the samples from about n_fft before
// the next frame on (the reflection at the end), O(n_fft + the lag between the two streams).
//
// The reference and the estimate are written separately, each in blocks of any size and at its
// own pace (an engine's output lags its input); a frame is measured as soon as both cover it.
// Signals of up to 4·n_fft samples are kept whole and measured by
// retrieval.STFTSpectralConvergenceDB itself. Not safe for concurrent use.
type SCMeter struct {
	cfg      retrieval.Config
	length   int64 // samples of each signal
	nfft     int
	short    bool // length ≤ 4·n_fft: keep whole
	ref, est scStream
	next     int64 // next frame
	frames   int64
	win      []float64
	frame    []float64
	sx, sy   []complex128
	plan     *fft.Plan
	num, den float64
}

type scStream struct {
	head []float64 // the first min(length, n_fft) samples (all of them when short)
	buf  []float64 // samples [base, base+len(buf))
	base int64
}

func (s *scStream) count() int64 { return s.base + int64(len(s.buf)) }

// NewSCMeter plans a meter for two signals of length samples each.
func NewSCMeter(cfg retrieval.Config, length int) (*SCMeter, error) {
	cfg.Framing, cfg.Pad = retrieval.Center, retrieval.Reflect
	c, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if length < 1 {
		return nil, fmt.Errorf("stream: spectral convergence of %d samples", length)
	}
	m := &SCMeter{cfg: c, length: int64(length), nfft: c.NFFT, short: length <= 4*c.NFFT, frames: int64(c.Frames(length))}
	if !m.short {
		m.win, m.frame = c.WindowSamples(), make([]float64, c.NFFT)
		m.sx, m.sy = make([]complex128, c.Bins()), make([]complex128, c.Bins())
		m.plan = fft.New(c.NFFT)
	}
	return m, nil
}

// Close releases the FFT plan.
func (m *SCMeter) Close() {
	if m.plan != nil {
		m.plan.Close()
	}
}

// WriteRef appends reference samples (beyond the length given to NewSCMeter they are ignored).
func (m *SCMeter) WriteRef(x []float64) { m.write(&m.ref, x) }

// WriteEst appends estimate samples (beyond the length they are ignored).
func (m *SCMeter) WriteEst(y []float64) { m.write(&m.est, y) }

func (m *SCMeter) write(s *scStream, v []float64) {
	v = v[:max(0, min(int64(len(v)), m.length-s.count()))]
	keep := int64(m.nfft)
	if m.short {
		keep = m.length
	}
	if h := s.count(); h < keep {
		s.head = append(s.head, v[:min(int64(len(v)), keep-h)]...)
	}
	if m.short {
		s.base += int64(len(v))
		return
	}
	s.buf = append(s.buf, v...)
	m.measure(false)
}

// measure takes every frame both signals cover (all remaining frames when final), then drops
// what no later frame needs.
func (m *SCMeter) measure(final bool) {
	half, hop := int64(m.nfft/2), int64(m.cfg.Hop)
	have := min(m.ref.count(), m.est.count())
	for m.next < m.frames && (final || min(m.length, m.next*hop+half) <= have) {
		start := m.next*hop - half
		m.fill(m.sx, &m.ref, start)
		m.fill(m.sy, &m.est, start)
		for k := range m.sx {
			t := absC(m.sx[k])
			d := absC(m.sy[k]) - t
			m.num += d * d
			m.den += t * t
		}
		m.next++
	}
	low := m.next*hop - half - int64(m.nfft) // the end reflection reaches a little below a frame's start
	for _, s := range []*scStream{&m.ref, &m.est} {
		if d := low - s.base; d > int64(len(s.buf))/2 && d > 0 { // compact when it frees half
			d = min(d, int64(len(s.buf)))
			s.buf = append(s.buf[:0], s.buf[d:]...)
			s.base += d
		}
	}
}

// fill transforms the windowed frame of s starting at sample start (reflected at both ends).
func (m *SCMeter) fill(dst []complex128, s *scStream, start int64) {
	for i, w := range m.win {
		j := reflect64(start+int64(i), m.length)
		var v float64
		switch {
		case j < int64(len(s.head)):
			v = s.head[j]
		case j >= s.base && j < s.count():
			v = s.buf[j-s.base]
		}
		m.frame[i] = w * v
	}
	m.plan.Forward(dst, m.frame)
}

func absC(c complex128) float64 { return math.Sqrt(real(c)*real(c) + imag(c)*imag(c)) }

// DB returns 20·log10 of the spectral convergence over every frame, once both signals have been
// written in full (a signal cut short is measured as if its missing samples were zeros). It
// returns NaN where retrieval.STFTSpectralConvergenceDB does.
func (m *SCMeter) DB() float64 {
	if m.short {
		pad := func(v []float64) []float64 { out := make([]float64, m.length); copy(out, v); return out }
		return retrieval.STFTSpectralConvergenceDB(m.cfg, pad(m.ref.head), pad(m.est.head))
	}
	m.measure(true)
	if m.den == 0 {
		if m.num == 0 {
			return retrieval.DB(0)
		}
		return math.Inf(1)
	}
	return retrieval.DB(math.Sqrt(m.num / m.den))
}

// reflect64 is retrieval.ReflectIndex on the meter's int64 positions.
func reflect64(t, n int64) int64 { return int64(retrieval.ReflectIndex(int(t), int(n))) }
