package device

import (
	"math"
	"sync/atomic"
)

// Sine is a Source: a sine wave of Freq Hz and amplitude Amp at Rate Hz, with an optional click
// (one sample of amplitude ClickAmp added) every ClickEvery samples, starting at sample
// ClickEvery/2 — a probe whose arrival in the output measures the end-to-end latency; IsClick
// tells which sample indices carry a click. Fill does not allocate. Not safe for concurrent use.
type Sine struct {
	Freq, Amp, Rate float64
	ClickEvery      int
	ClickAmp        float64
	n               int
	phase           float64
}

// Fill writes the next len(dst) samples.
func (s *Sine) Fill(dst []float32) {
	w := 2 * math.Pi * s.Freq / s.Rate
	for i := range dst {
		v := s.Amp * math.Sin(s.phase)
		if s.phase += w; s.phase >= 2*math.Pi {
			s.phase -= 2 * math.Pi
		}
		if s.ClickEvery > 0 && s.n%s.ClickEvery == s.ClickEvery/2 {
			v += s.ClickAmp
		}
		dst[i] = float32(v)
		s.n++
	}
}

// IsClick reports whether sample i carries a click.
func (s *Sine) IsClick(i int) bool { return s.ClickEvery > 0 && i%s.ClickEvery == s.ClickEvery/2 }

// Samples is a Source that plays a buffer once (then silence), as if from a microphone.
type Samples struct {
	Data []float32
	pos  atomic.Int64
}

// Fill writes the next len(dst) samples, zeros after the end.
func (s *Samples) Fill(dst []float32) {
	p := int(s.pos.Load())
	n := copy(dst, s.Data[min(p, len(s.Data)):])
	clear(dst[n:])
	s.pos.Store(int64(p + len(dst)))
}

// Done reports whether the whole buffer has been played (safe from any goroutine).
func (s *Samples) Done() bool { return int(s.pos.Load()) >= len(s.Data) }
