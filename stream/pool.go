package stream

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Workers is the number of worker goroutines, each locked to its own OS thread; 0 means
	// runtime.GOMAXPROCS(0), one per core the Go scheduler uses.
	Workers int
}

// Pool runs N independent streams, one Engine each, on a fixed set of worker goroutines locked
// to OS threads: a TTS server's voices, a mixer's channels, a plugin host's tracks. It moves in
// rounds of one hop: the caller gives each stream that has one its next frame (Push), Round
// pushes every pending frame into its engine on the workers and returns when all are done, and
// the caller collects each stream's hop of output (Output).
//
// Scheduling: in a round the workers take the pending streams one at a time from a shared
// counter, in order of increasing deadline (earliest deadline first; ties by stream index), so
// the load balances itself whatever the streams cost. A stream is on one worker for the whole
// of its Push, and on no particular worker from one round to the next. A round with a single
// pending stream runs it on the caller's goroutine, without waking a worker.
//
// Deadlines: stream i's deadline is measured from the start of Round; by default it is its
// engine's hop duration (hop / SampleRate; none when the engine has no sample rate), settable
// with SetDeadline. A stream whose Push completes later than its deadline counts a deadline miss
// in its RoundStats (RoundStats(i).DeadlineMisses); its output is still written, so a miss is an
// underrun for a real-time consumer, never lost audio. The engine's own Stats count its compute
// time against the hop duration, without the time spent waiting for a worker.
//
// Thread safety: Push, Round, Output, Err, SetDeadline, RoundStats, Engine and Close must be called
// from one goroutine at a time (the owner), never concurrently with Round; between rounds the
// owner may also use the engines directly (Stats, Reset, Flush). Round itself runs the engines in
// parallel, each on one worker at a time; the engines must be distinct.
//
// Allocation: NewPool allocates the frame and output slots and starts the workers; Push, Round,
// Output, Err and RoundStats do not allocate (TestPoolRoundDoesNotAllocate).
type Pool struct {
	engines []*Engine
	slots   []*poolSlot
	order   []int // stream indices by deadline, earliest first
	wake    []chan struct{}
	next    atomic.Int64 // index into order of the next stream to take
	start   time.Time    // start of the current round
	round   sync.WaitGroup
	exited  sync.WaitGroup
	closed  bool
}

// poolSlot is one stream's frame, output and round statistics. Each is allocated on its own so
// that workers writing neighbouring streams do not share cache lines.
type poolSlot struct {
	in, out  []float64
	pending  bool
	err      error
	deadline time.Duration
	stats    Stats
}

// NewPool starts cfg.Workers worker goroutines (each locked to an OS thread) for the engines,
// which stay the caller's: the pool neither resets nor closes them. Stream i is engines[i]. It
// panics if an engine is nil or appears twice, or if cfg.Workers < 0.
func NewPool(engines []*Engine, cfg PoolConfig) *Pool {
	if cfg.Workers < 0 {
		panic(fmt.Sprintf("stream: pool of %d workers", cfg.Workers))
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	p := &Pool{engines: slices.Clone(engines), order: make([]int, len(engines))}
	seen := make(map[*Engine]bool, len(engines))
	for i, e := range engines {
		if e == nil || seen[e] {
			panic(fmt.Sprintf("stream: pool stream %d: nil or repeated engine", i))
		}
		seen[e] = true
		p.slots = append(p.slots, &poolSlot{in: make([]float64, e.Bins()), out: make([]float64, e.Hop()), deadline: e.hopDur})
		p.order[i] = i
	}
	p.sortOrder()
	p.wake = make([]chan struct{}, cfg.Workers)
	p.exited.Add(cfg.Workers)
	for w := range p.wake {
		p.wake[w] = make(chan struct{}, 1)
		go p.work(p.wake[w])
	}
	return p
}

// work is one worker: locked to its OS thread, it takes streams from the round's shared counter
// until none is left, once per wake-up, until its channel closes.
func (p *Pool) work(wake <-chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer p.exited.Done()
	for range wake {
		for {
			k := int(p.next.Add(1) - 1)
			if k >= len(p.order) {
				break
			}
			p.run(p.order[k])
		}
		p.round.Done()
	}
}

// run pushes stream i's pending frame, if any, into its engine.
func (p *Pool) run(i int) {
	s := p.slots[i]
	if !s.pending {
		return
	}
	s.err = p.engines[i].Push(s.out, s.in)
	s.stats.record(time.Since(p.start), s.deadline)
	s.pending = false
}

// sortOrder sorts the streams by deadline (none last), then by index.
func (p *Pool) sortOrder() {
	key := func(i int) time.Duration {
		if d := p.slots[i].deadline; d > 0 {
			return d
		}
		return math.MaxInt64
	}
	slices.SortFunc(p.order, func(a, b int) int { return cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a, b)) })
}

// Len returns the number of streams.
func (p *Pool) Len() int { return len(p.engines) }

// Engine returns stream i's engine, for use between rounds only.
func (p *Pool) Engine(i int) *Engine { return p.engines[i] }

// Push copies frame mag (Engine(i).Bins() values) as stream i's input for the next Round; a
// second Push before Round replaces it. It panics if len(mag) is not Bins(); the values are
// validated by the engine during Round (see Err). It does not allocate.
func (p *Pool) Push(i int, mag []float64) {
	s := p.slots[i]
	if len(mag) != len(s.in) {
		panic(fmt.Sprintf("stream: pool stream %d: frame of %d values, want %d", i, len(mag), len(s.in)))
	}
	copy(s.in, mag)
	s.pending = true
}

// Round pushes every pending frame into its engine on the workers, earliest deadline first, and
// returns when all are done; streams without a pending frame are left alone. A round of one
// pending frame runs it on the calling goroutine instead, which would only wait for a worker
// (one stream, or the last of streams of different lengths). Afterwards Output(i)
// and Err(i) hold each pushed stream's result. It panics after Close, and, as Engine.Push does,
// for a stream whose engine has been flushed and not reset. It does not allocate.
func (p *Pool) Round() {
	if p.closed {
		panic("stream: Round on a closed pool")
	}
	p.start = time.Now()
	only, n := -1, 0
	for i, s := range p.slots {
		if s.pending {
			only, n = i, n+1
		}
	}
	switch n {
	case 0:
		return
	case 1: // waking a worker would only add its wake-up latency
		p.run(only)
		return
	}
	p.next.Store(0)
	p.round.Add(len(p.wake))
	for _, w := range p.wake {
		w <- struct{}{}
	}
	p.round.Wait()
}

// Output returns stream i's hop (Engine(i).Hop() samples) written by the last Round that pushed
// a frame into it. The slice is the pool's, overwritten by the next such Round.
func (p *Pool) Output(i int) []float64 { return p.slots[i].out }

// Err returns the error of stream i's last Push into its engine (a *FrameError, whose frame was
// not taken, and whose Output is then stale), or nil.
func (p *Pool) Err(i int) error { return p.slots[i].err }

// SetDeadline sets stream i's deadline, measured from the start of each Round; d ≤ 0 means none.
// It re-sorts the scheduling order, which allocates nothing.
func (p *Pool) SetDeadline(i int, d time.Duration) {
	p.slots[i].deadline = max(d, 0)
	p.sortOrder()
}

// Deadline returns stream i's deadline (0: none).
func (p *Pool) Deadline(i int) time.Duration { return p.slots[i].deadline }

// RoundStats returns stream i's per-round statistics: Frames counts its pushes, the times
// (Percentile, Max, Total) are from the start of the Round to the end of its Push (queueing
// included), and DeadlineMisses counts those later than its deadline. Iterations stay 0 (see
// Engine(i).Stats()). Read it between rounds; ResetStats clears it.
func (p *Pool) RoundStats(i int) *Stats { return &p.slots[i].stats }

// ResetStats clears every stream's RoundStats.
func (p *Pool) ResetStats() {
	for _, s := range p.slots {
		s.stats.reset()
	}
}

// Close stops the workers and waits for them to exit. The engines are not closed. Calling
// Close twice is a no-op.
func (p *Pool) Close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.wake {
		close(w)
	}
	p.exited.Wait()
}
