package stream

import (
	"fmt"
	"time"
)

// MultiPipeline runs N independent Pipelines (sample or frame pipelines: N inputs, or the
// channels of one) through a Pool, round by round: in each round every stream that has a frame
// ready pushes it into its engine on the pool's workers, and the hops come back through each
// Pipeline's own latency compensation and output length, so that stream i's output is bit for
// bit what Pipeline i alone would give (the engines are deterministic with a fixed ItersPerHop).
// Streams may differ in length and configuration: a stream that is flushed early (its input
// ended) drops out of the rounds while the others go on.
//
// A frame that the analysis, the effects or the mel bottleneck produce waits in the stream's
// queue (one frame, more for a time stretch or the frames Flush pads) for the next round; the
// analysis is fed only as many samples as complete its next frame, so memory stays that of the
// pipelines plus one block of input.
//
// Allocation: NewMultiPipeline allocates the pool, the queues and the per-stream callbacks; Write,
// WriteFrames and Flush allocate nothing once the queues have grown to the most frames a stream
// had waiting (TestMultiPipelineRoundDoesNotAllocate), except for the error they return.
// Thread safety: one goroutine at a time (the owner); the engines run on the pool's workers
// during a round only.
type MultiPipeline struct {
	streams []*multiStream
	pool    *Pool
	emit    func(i int, y []float64) error // the current call's
	rounds  Stats
	closed  bool
}

// multiStream is one stream's pipeline, its queue of frames waiting for a round, and the input
// of the current Write not yet analysed.
type multiStream struct {
	p       *Pipeline
	frames  [][]float64 // frames[head:n] wait for a round; the buffers are reused
	head, n int
	rest    []float64
	pushed  bool // in the current round
	flushed bool
}

// NewMultiPipeline runs the pipelines (stream i is pipes[i], Reset here, so a frame pipeline's
// SetLength comes after; their engines must be distinct) on a Pool of cfg.Workers workers. The pipelines stay the caller's, to close with their
// engines after Close; drive them only through the MultiPipeline from now on. It panics if a
// pipeline is nil or shares its engine (see NewPool).
func NewMultiPipeline(pipes []*Pipeline, cfg PoolConfig) *MultiPipeline {
	m := &MultiPipeline{}
	engines := make([]*Engine, len(pipes))
	for i, p := range pipes {
		if p == nil {
			panic(fmt.Sprintf("stream: multi-pipeline stream %d: nil pipeline", i))
		}
		engines[i] = p.e
		s := &multiStream{p: p}
		p.Reset()
		p.enqueue = s.enqueue
		p.emit = func(y []float64) error { return m.emit(i, y) }
		m.streams = append(m.streams, s)
	}
	m.pool = NewPool(engines, cfg)
	return m
}

// enqueue copies a frame (the engine's Bins() values) into the queue; a frame of the wrong
// length is the engine's *FrameError at once.
func (s *multiStream) enqueue(mag []float64) error {
	e := s.p.e
	if len(mag) != e.Bins() {
		return &FrameError{Frame: e.pushed + s.n - s.head, Bin: -1, Len: len(mag), Want: e.Bins()}
	}
	if s.n == len(s.frames) {
		s.frames = append(s.frames, make([]float64, e.Bins()))
	}
	copy(s.frames[s.n], mag)
	s.n++
	return nil
}

// Len returns the number of streams.
func (m *MultiPipeline) Len() int { return len(m.streams) }

// Pipeline returns stream i's pipeline (for Engine, Samples and Emitted between calls).
func (m *MultiPipeline) Pipeline(i int) *Pipeline { return m.streams[i].p }

// Pool returns the pool, for its RoundStats and SetDeadline between calls.
func (m *MultiPipeline) Pool() *Pool { return m.pool }

// Rounds returns the statistics of the pool's rounds since NewMultiPipeline or Reset: Frames
// counts the rounds, the times are each round's wall time (every pushed stream's frame, on all
// workers), and DeadlineMisses counts the rounds longer than the earliest deadline of the streams
// in them (Pool.Deadline: by default the hop's duration). Iterations stay 0.
func (m *MultiPipeline) Rounds() *Stats { return &m.rounds }

// Write analyses xs[i] (any length, empty or nil for none) for every stream i, in rounds, and
// calls emit(i, y) with each block of stream i's output as it completes (y is scratch that the
// next call overwrites). It returns when every block is analysed; frames still waiting (a time
// stretch) go into the next call's rounds. It stops at the first error, of an engine (a
// *FrameError, wrapped with the stream's index) or of emit, after emitting the rest of that
// round; the pipelines must then be Reset. It panics if len(xs) ≠ Len(), for a frame pipeline
// given samples, and for samples after the stream's Flush.
func (m *MultiPipeline) Write(xs [][]float64, emit func(i int, y []float64) error) error {
	if len(xs) != len(m.streams) {
		panic(fmt.Sprintf("stream: multi-pipeline Write of %d streams, want %d", len(xs), len(m.streams)))
	}
	for i, s := range m.streams {
		if len(xs[i]) > 0 {
			m.check(i, true)
		}
		s.rest = xs[i]
	}
	m.emit = emit
	return m.run()
}

// WriteFrames is Write for frame pipelines: mags[i] is stream i's next frame (nil: none this
// time), as Pipeline.WriteFrame takes it. Every stream's frame runs in the same round (more for
// a time stretch). Errors and panics are Write's.
func (m *MultiPipeline) WriteFrames(mags [][]float64, emit func(i int, y []float64) error) error {
	if len(mags) != len(m.streams) {
		panic(fmt.Sprintf("stream: multi-pipeline WriteFrames of %d streams, want %d", len(mags), len(m.streams)))
	}
	m.emit = emit
	for i, s := range m.streams {
		if mags[i] == nil {
			continue
		}
		m.check(i, false)
		if err := s.p.pushEffects(mags[i]); err != nil {
			return streamError(i, err)
		}
	}
	return m.run()
}

// check panics if stream i cannot take input of the kind given (samples or frames).
func (m *MultiPipeline) check(i int, samples bool) {
	s := m.streams[i]
	switch {
	case s.flushed:
		panic(fmt.Sprintf("stream: multi-pipeline stream %d: input after Flush without Reset", i))
	case samples && s.p.a == nil:
		panic(fmt.Sprintf("stream: multi-pipeline stream %d: samples for a frame pipeline (use WriteFrames)", i))
	case !samples && s.p.a != nil:
		panic(fmt.Sprintf("stream: multi-pipeline stream %d: frames for a sample pipeline (use Write)", i))
	}
}

// Flush ends the streams i with end[i] (every stream when end is nil) that are not yet flushed:
// their last frames run in shared rounds, then each engine is flushed (on this goroutine) and
// the rest of its output emitted, as Pipeline.Flush does. Streams not ended keep their state.
// Errors are Write's.
func (m *MultiPipeline) Flush(end []bool, emit func(i int, y []float64) error) error {
	m.emit = emit
	ending := func(i int) bool { return (end == nil || end[i]) && !m.streams[i].flushed }
	for i, s := range m.streams {
		if ending(i) {
			s.rest = nil
			if err := s.p.flushFrames(); err != nil {
				return streamError(i, err)
			}
		}
	}
	if err := m.run(); err != nil {
		return err
	}
	for i, s := range m.streams {
		if ending(i) {
			s.flushed = true
			if err := s.p.flushTail(); err != nil {
				return streamError(i, err)
			}
		}
	}
	return nil
}

// Flushed reports whether stream i was flushed since Reset.
func (m *MultiPipeline) Flushed(i int) bool { return m.streams[i].flushed }

// run feeds each stream's analysis until it has a frame queued, runs rounds of every stream
// with one, and sends their output, until no stream has a frame or input left.
func (m *MultiPipeline) run() error {
	for {
		any := false
		deadline := time.Duration(0)
		for i, s := range m.streams {
			for s.head == s.n && len(s.rest) > 0 { // at most one analysed frame per Write
				a := s.p.a
				k := min(a.cfg.NFFT-a.fill, len(s.rest))
				if err := a.Write(s.rest[:k], s.p.push); err != nil {
					return streamError(i, err)
				}
				s.rest = s.rest[k:]
			}
			if s.head < s.n {
				m.pool.Push(i, s.frames[s.head])
				s.pushed, any = true, true
				if d := m.pool.Deadline(i); d > 0 && (deadline == 0 || d < deadline) {
					deadline = d
				}
			}
		}
		if !any {
			return nil
		}
		t0 := time.Now()
		m.pool.Round()
		m.rounds.record(time.Since(t0), deadline)
		var first error
		for i, s := range m.streams {
			if !s.pushed {
				continue
			}
			s.pushed = false
			if s.head++; s.head == s.n {
				s.head, s.n = 0, 0
			}
			err := m.pool.Err(i)
			if err == nil {
				err = s.p.send(m.pool.Output(i), s.p.limit)
			}
			if err != nil && first == nil {
				first = streamError(i, err)
			}
		}
		if first != nil {
			return first
		}
	}
}

// streamError names stream i in err.
func streamError(i int, err error) error { return fmt.Errorf("stream %d: %w", i, err) }

// Reset starts every stream again (Pipeline.Reset), empties the queues and clears the pool's
// and the rounds' statistics.
func (m *MultiPipeline) Reset() {
	for _, s := range m.streams {
		s.p.Reset()
		s.head, s.n, s.rest, s.pushed, s.flushed = 0, 0, nil, false, false
	}
	m.pool.ResetStats()
	m.rounds.reset()
}

// Close stops the pool's workers and gives the pipelines back to their own Write and Flush (the
// engines stay open). Calling it twice is a no-op.
func (m *MultiPipeline) Close() {
	if !m.closed {
		m.closed = true
		m.pool.Close()
		for _, s := range m.streams {
			s.p.enqueue = nil
		}
	}
}
