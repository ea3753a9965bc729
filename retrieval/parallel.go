package retrieval

import (
	"fmt"
	"sync"

	"github.com/rephase/rephase/retrieval/fft"
)

// workerPool is a fixed set of goroutines that run one job each per round: round calls
// job(0) on the calling goroutine and job(1) … job(n−1) on the pool's goroutines, and returns
// when all are done. A round allocates nothing (a channel send per worker and a WaitGroup).
// The job must not refer to the Problem that owns the pool, so that an unclosed Problem can
// still be collected (its cleanup closes the pool).
type workerPool struct {
	start []chan struct{} // start[i] wakes worker i (index 0 unused: the caller)
	wg    sync.WaitGroup
	job   func(i int)
	once  sync.Once
}

// newWorkerPool starts n−1 goroutines for job (n ≥ 2).
func newWorkerPool(n int, job func(i int)) *workerPool {
	if n < 2 {
		panic(fmt.Sprintf("retrieval: worker pool of %d threads", n))
	}
	w := &workerPool{start: make([]chan struct{}, n), job: job}
	for i := 1; i < n; i++ {
		ch := make(chan struct{})
		w.start[i] = ch
		go func() {
			for range ch {
				job(i)
				w.wg.Done()
			}
		}()
	}
	return w
}

// threads returns the number of jobs per round, the caller's included.
func (w *workerPool) threads() int { return len(w.start) }

// round runs job(i) for every i, job(0) on the caller, and waits for all of them.
func (w *workerPool) round() {
	w.wg.Add(len(w.start) - 1)
	for _, ch := range w.start[1:] {
		ch <- struct{}{}
	}
	w.job(0)
	w.wg.Wait()
}

// close stops the goroutines; idempotent. The pool must not be used afterwards.
func (w *workerPool) close() {
	w.once.Do(func() {
		for _, ch := range w.start[1:] {
			close(ch)
		}
	})
}

// split returns the start of part k of n items in parts parts (contiguous, sizes differing by
// at most one): part k is [split(n, parts, k), split(n, parts, k+1)).
func split(n, parts, k int) int { return k * n / parts }

// minFramesPerThread is the fewest interior frames per thread for which Problem.Eval splits its
// frames across threads: below it the wake-up and the edge reduction cost more than they save.
// Measured with BenchmarkEvalThreads (benchmarks/threads_test.go) at n_fft 512, hop 128.
const minFramesPerThread = 64

// stftShard is one thread's share of a Problem's interior frames: frames [a, b) of the interior
// group (numbered from its first frame). Its first lead frames overlap the previous shard's
// samples; a shard other than the first accumulates their gradient in its own edge buffer,
// which Eval adds onto the gradient after the round, so that no two threads write one sample.
type stftShard struct {
	fl   *FrameLoss
	a, b int
	lead int
	edge []float64 // (lead−1)·hop + n_fft samples; nil for shard 0
	f    float64   // the shard's part of F in the current round
}

// stftPar is a Problem's worker set: the shards, and the arguments of the current Eval. It
// refers to the STFT and the target, never to the Problem (see workerPool).
type stftPar struct {
	s       *STFT
	tgt     []float64
	gi      int // the interior group
	shards  []stftShard
	pool    *workerPool
	x, grad []float64 // the current Eval's arguments
}

// newSTFTPar returns the worker set that runs fl's loss on the interior frames of s with up to
// threads threads, or nil where fewer than two threads would each get minFramesPerThread frames.
// Shard 0 uses fl itself; the others get their own FrameLoss and FFT plan.
func newSTFTPar(s *STFT, tgt []float64, fl *FrameLoss, threads int) *stftPar {
	hop, n := s.cfg.Hop, s.cfg.NFFT
	gi := -1
	for i := range s.groups {
		if s.groups[i].src == nil {
			gi = i
		}
	}
	if gi < 0 {
		return nil
	}
	frames := s.groups[gi].m1 - s.groups[gi].m0
	lead := ceilDiv(n-hop, hop)
	t := min(threads, frames/minFramesPerThread, frames/(2*lead+1))
	if t < 2 {
		return nil
	}
	q := &stftPar{s: s, tgt: tgt, gi: gi, shards: make([]stftShard, t)}
	for k := range q.shards {
		sh := &q.shards[k]
		sh.a, sh.b, sh.fl = split(frames, t, k), split(frames, t, k+1), fl
		if k > 0 {
			sh.fl = newFrameLossOn(fft.New(n), hop, s.win)
			sh.fl.ownsPlan = true
			sh.fl.gamma, sh.fl.eps2 = fl.gamma, fl.eps2
			sh.lead = lead
			if lead > 0 {
				sh.edge = make([]float64, (lead-1)*hop+n)
			}
		}
	}
	q.pool = newWorkerPool(t, q.run)
	return q
}

// run is thread k's part of Eval: shard k's frames, and for the first (last) shard the padded
// groups before (after) the interior, folded onto the gradient.
func (q *stftPar) run(k int) {
	s, sh := q.s, &q.shards[k]
	x, grad := q.x, q.grad
	sh.f = 0
	if k == 0 {
		for gi := range q.gi {
			sh.f += s.groups[gi].eval(sh.fl, grad, x, q.tgt, s.bins)
		}
	}
	g := &s.groups[q.gi]
	xs, ts := g.signal(x), q.tgt[g.m0*s.bins:]
	m := sh.a
	var gs []float64
	if grad != nil {
		gs = g.gradBuffer(grad)
		if sh.edge != nil {
			clear(sh.edge)
			o := sh.a * s.cfg.Hop
			sh.f += sh.fl.Eval(sh.edge, xs[o:], ts[sh.a*s.bins:], 0, sh.lead, 0)
			m += sh.lead
		}
	}
	sh.f += sh.fl.Eval(gs, xs, ts, m, sh.b, 0)
	if k == len(q.shards)-1 {
		for gi := q.gi + 1; gi < len(s.groups); gi++ {
			sh.f += s.groups[gi].eval(sh.fl, grad, x, q.tgt, s.bins)
		}
	}
}

// eval runs Eval on its threads: F summed over the shards in order, and the shards' edge
// gradients added in order after the round.
func (q *stftPar) eval(grad, x []float64) float64 {
	q.x, q.grad = x, grad
	q.pool.round()
	q.x, q.grad = nil, nil
	f := 0.0
	for k := range q.shards {
		f += q.shards[k].f
	}
	if grad != nil {
		g := &q.s.groups[q.gi]
		gs := grad[g.start:]
		for k := 1; k < len(q.shards); k++ {
			sh := &q.shards[k]
			addTo(gs[sh.a*q.s.cfg.Hop:], sh.edge)
		}
	}
	return f
}

// close stops the workers and releases their FFT plans.
func (q *stftPar) close() {
	q.pool.close()
	for k := 1; k < len(q.shards); k++ {
		q.shards[k].fl.Close()
	}
}

// addTo adds src onto dst[:len(src)].
func addTo(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}
