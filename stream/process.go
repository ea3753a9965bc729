package stream

import (
	"math"

	"github.com/rephase/rephase/internal/enum"
)

// Alignment says where a Pipeline's output sits against its input.
type Alignment int

const (
	// Aligned drops the engine's Latency().FileDelay leading samples: the output is aligned with
	// the input and has as many samples (what files want). The zero value.
	Aligned Alignment = iota
	// Delayed keeps them as zeros: the engine's stream as it comes out of a real-time loop,
	// FileDelay samples longer than the input.
	Delayed
)

var alignmentNames = [...]string{"aligned", "delayed"}

// String returns the alignment's name ("aligned", "delayed"), or "unknown(N)".
func (a Alignment) String() string { return enum.Name(alignmentNames[:], int(a)) }

// MarshalText implements encoding.TextMarshaler: the alignment's name; an error outside the enum.
func (a Alignment) MarshalText() ([]byte, error) {
	return enum.Marshal(alignmentNames[:], int(a), "stream", "alignment")
}

// UnmarshalText implements encoding.TextUnmarshaler ("aligned" or "delayed", any case).
func (a *Alignment) UnmarshalText(b []byte) error {
	return enum.Unmarshal(a, alignmentNames[:], b, "stream", "alignment")
}

// Resynthesize runs the whole signal x through the analysis a and the engine e (both Reset first,
// same STFT configuration) and returns the engine's output aligned with x: the Latency().FileDelay
// leading samples dropped and the result cut to len(x). It allocates the output and one hop of
// scratch; the per-frame work does not allocate. It is a Pipeline fed x in one Write.
func Resynthesize(e *Engine, a *Analyzer, x []float64) ([]float64, error) {
	p, err := NewPipeline(e, a, Aligned)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(x))
	keep := func(y []float64) error { out = append(out, y...); return nil }
	if err := p.Write(x, keep); err != nil {
		return nil, err
	}
	if err := p.Flush(keep); err != nil {
		return nil, err
	}
	return out, nil
}

// Pipeline is one channel of file resynthesis: samples in (any block size) → Analyzer →
// (Effects) → Engine → samples out, aligned with the input. With a mel engine (Config.Mel) the
// frames pass through a mel bottleneck (Engine.MelFrame) after the effects: what a vocoder's mel
// input keeps of the signal. It owns the latency compensation and the output length,
// so that a signal of any length streams through it in constant memory (O((ℓ + n_fft/hop)·n_fft),
// the engine's and the analysis's state).
//
// Aligned (the default of the commands) drops the engine's Latency().FileDelay leading samples,
// and the output has exactly as many samples as the input. Delayed keeps them as zeros, and the
// output is FileDelay samples longer: the engine's stream delayed as it comes out of a real-time
// loop, minus the one hop of block buffering.
//
// Write and Flush do not allocate. Not safe for concurrent use.
type Pipeline struct {
	a          *Analyzer
	e          *Engine
	compensate bool
	lead       int // leading engine samples still to drop (compensate) or zero
	out        int // samples emitted
	limit      int // the output's length once known (Flush), −1 before
	hop, tail  []float64
	advance    int       // frame pipelines: how much earlier the frames sit than Full framing
	length     int64     // frame pipelines: the signal's length, −1 unknown
	fx         Effects   // nil: none
	mel        []float64 // a mel engine's frame (Engine.MelFrame), nil for a linear engine
	emit       func([]float64) error
	push       func([]float64) error
	enqueue    func([]float64) error // a MultiPipeline's stream: takes the engine's frames for its rounds
}

// Effects transforms each analysed frame (bins = n_fft/2 + 1 magnitudes, modified in place) into
// the frames to resynthesise, returned as views valid until the next Push: one frame for effects
// that keep the frame rate, about Stretch() frames per frame for a time stretch. Push must not
// allocate if the Pipeline is to stay allocation-free. stream/effect's Chain implements it.
type Effects interface {
	Push(mag []float64) [][]float64
	Stretch() float64
}

// NewPipeline wires a and e (same STFT configuration, else an error) and Resets both; align says
// whether the output drops the latency (Aligned) or keeps it (Delayed). It panics for an align
// outside the enum.
func NewPipeline(e *Engine, a *Analyzer, align Alignment) (*Pipeline, error) {
	if err := checkSameSTFT(a.Config(), e.Config().STFT); err != nil {
		return nil, err
	}
	p := &Pipeline{a: a, e: e, compensate: compensated(align), hop: make([]float64, e.Hop()), tail: make([]float64, e.FlushLen())}
	if e.Config().Mel != nil {
		p.mel = make([]float64, e.Bins())
	}
	p.push = p.pushEffects
	p.Reset()
	return p, nil
}

// NewFramePipeline is a Pipeline fed with analysed frames instead of samples, e.g. a frame
// stream or a TTS model's mel spectrogram: WriteFrame takes them one at a time (Write panics).
// advance is how many samples earlier in the signal the frames sit than the engine's Full
// framing (framestream.Header.Advance: 0 for Full, (⌈n_fft/hop⌉ − 1)·hop − n_fft/2 for Center);
// with align Aligned it is dropped with the file delay, so that the output is aligned with the
// analysed signal, and SetLength, if the signal's length is known, makes Flush stop there.
// Delayed, the engine's stream is emitted as it comes, its first FileDelay samples as zeros, up
// to the end of the engine's tail. It Resets e, and panics for an align outside the enum.
func NewFramePipeline(e *Engine, align Alignment, advance int) *Pipeline {
	p := &Pipeline{e: e, compensate: compensated(align), advance: advance, hop: make([]float64, e.Hop()), tail: make([]float64, e.FlushLen())}
	p.push = p.pushEffects
	p.Reset()
	return p
}

// compensated reports whether align drops the latency; it panics outside the enum.
func compensated(align Alignment) bool {
	if align != Aligned && align != Delayed {
		panic("stream: pipeline alignment " + align.String())
	}
	return align == Aligned
}

// SetLength tells a frame pipeline the analysed signal's length in samples (≤ 0: unknown), where
// a compensated output ends. Call it after Reset, before the first frame; Reset forgets it.
func (p *Pipeline) SetLength(n int64) {
	p.length = max(n, -1)
	if p.compensate && n > 0 {
		p.limit = int(min(n, int64(math.MaxInt)))
	}
}

// WriteFrame runs one frame of a frame pipeline (the engine's Bins() values: magnitudes, or a
// mel engine's mel bands, which pass no bottleneck here) through the effects, if any (they must
// then take and give Bins() values), and the engine, and calls emit with the output it
// completes. It returns the engine's *FrameError for a bad frame, without emitting, and emit's
// error.
func (p *Pipeline) WriteFrame(mag []float64, emit func(y []float64) error) error {
	if p.a != nil {
		panic("stream: WriteFrame on a Pipeline with an Analyzer (use Write)")
	}
	p.emit = emit
	return p.push(mag)
}

// pushEffects runs a frame through the effects, if any, and the engine.
func (p *Pipeline) pushEffects(mag []float64) error {
	if p.fx == nil {
		return p.pushFrame(mag)
	}
	for _, f := range p.fx.Push(mag) {
		if err := p.pushFrame(f); err != nil {
			return err
		}
	}
	return nil
}

// pushFrame runs one frame through the engine (a mel engine gets the frame's mel bands) and
// sends its hop.
func (p *Pipeline) pushFrame(mag []float64) error {
	if p.mel != nil {
		mag = p.e.MelFrame(p.mel, mag)
	}
	if p.enqueue != nil {
		return p.enqueue(mag)
	}
	if err := p.e.Push(p.hop, mag); err != nil {
		return err
	}
	return p.send(p.hop, p.limit)
}

// SetEffects puts fx between the analysis and the engine (nil: none); call it before the first
// Write of a signal. Reset does not reset fx. With fx.Stretch() ≠ 1 the output is no longer as
// long as the input: Flush emits every frame the stretch produced and the engine's whole tail.
func (p *Pipeline) SetEffects(fx Effects) { p.fx = fx }

// Reset starts a new signal (and Resets the analysis and the engine).
func (p *Pipeline) Reset() {
	if p.a != nil {
		p.a.Reset()
	}
	p.e.Reset()
	p.lead, p.out, p.limit, p.length = p.e.Latency().FileDelay, 0, -1, -1
	if p.compensate {
		p.lead -= p.advance
	}
}

// Engine returns the engine (for Latency and Stats).
func (p *Pipeline) Engine() *Engine { return p.e }

// Samples returns the number of input samples written since Reset (0 for a frame pipeline).
func (p *Pipeline) Samples() int {
	if p.a == nil {
		return 0
	}
	return p.a.Samples()
}

// Emitted returns the number of output samples emitted since Reset.
func (p *Pipeline) Emitted() int { return p.out }

// send passes y to emit after the leading-sample treatment, at most limit samples in all
// (limit < 0: no limit). Before Flush the output never runs ahead of the input; the frames that
// Flush pushes (the analysis's padding) and the engine's tail may, and are cut.
func (p *Pipeline) send(y []float64, limit int) error {
	if p.lead > 0 {
		d := min(p.lead, len(y))
		if !p.compensate {
			clear(y[:d])
			if err := p.emit(y[:d]); err != nil {
				return err
			}
			p.out += d
		}
		y, p.lead = y[d:], p.lead-d
	}
	if limit >= 0 {
		y = y[:max(0, min(len(y), limit-p.out))]
	}
	if len(y) == 0 {
		return nil
	}
	p.out += len(y)
	return p.emit(y)
}

// Write analyses x and calls emit with each block of output it completes (a slice of scratch
// that the next call overwrites). It stops at and returns the first error, of the engine (a
// *FrameError) or of emit.
func (p *Pipeline) Write(x []float64, emit func(y []float64) error) error {
	if p.a == nil {
		panic("stream: Write on a frame pipeline (use WriteFrame)")
	}
	p.emit = emit
	return p.a.Write(x, p.push)
}

// Flush ends the signal: it pads the analysis, pushes the last frames, flushes the engine and
// emits the rest of the output, which then has Samples() samples (plus FileDelay without
// compensation; see SetEffects for a stretch). After Flush, Reset starts again.
func (p *Pipeline) Flush(emit func(y []float64) error) error {
	p.emit = emit
	if err := p.flushFrames(); err != nil {
		return err
	}
	return p.flushTail()
}

// flushFrames fixes the output's length and pushes the analysis's last frames (none for a frame
// pipeline, whose length SetLength fixed).
func (p *Pipeline) flushFrames() error {
	if p.a == nil {
		return nil
	}
	p.limit = p.a.Samples()
	if !p.compensate {
		p.limit += p.e.Latency().FileDelay
	}
	if p.fx != nil && p.fx.Stretch() != 1 {
		p.limit = -1
	}
	return p.a.Flush(p.push)
}

// flushTail flushes the engine and sends its tail: a frame pipeline's up to the length if known
// (SetLength), else whole.
func (p *Pipeline) flushTail() error {
	p.e.Flush(p.tail)
	return p.send(p.tail, p.limit)
}
