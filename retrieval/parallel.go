package retrieval

import (
	"fmt"
	"runtime"
	"sync"
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

// workerSet is a Problem's set of threads (*stftPar, *cwtPar); the nil set is one thread.
type workerSet interface {
	threads() int
	close()
}

// setThreads makes *cur the worker set that mk makes for n threads (mk returns nil where the
// input is too short to gain; n = 1 asks for none), closing the old one, unless both have as
// many threads. The set is closed by a cleanup if owner is collected while it runs. It panics
// if n < 1.
func setThreads[T any, Q workerSet](owner *T, cur *Q, cleanup *runtime.Cleanup, n int, mk func(int) Q) {
	if n < 1 {
		panic(fmt.Sprintf("retrieval: SetThreads(%d): need at least 1 thread", n))
	}
	var q Q
	if n > 1 {
		q = mk(n)
	}
	if q.threads() == (*cur).threads() {
		q.close()
		return
	}
	if (*cur).threads() > 1 {
		cleanup.Stop()
		(*cur).close()
	}
	*cur = q
	if q.threads() > 1 {
		*cleanup = runtime.AddCleanup(owner, func(q Q) { q.close() }, q)
	}
}

// split returns the start of part k of n items in parts parts (contiguous, sizes differing by
// at most one): part k is [split(n, parts, k), split(n, parts, k+1)).
func split(n, parts, k int) int { return k * n / parts }

// minFramesPerThread is the fewest interior frames per thread for which Problem.Eval splits its
// frames across threads: below it the wake-up (tens of µs on this project's 2-vCPU VM) and the
// edge reduction cost about what they save. Measured with BenchmarkEvalThreads
// (benchmarks/threads_test.go) at n_fft 512, hop 128 with the threshold lowered: 2 threads were
// 20–35 % slower than 1 at 32 frames per thread, 1.48× faster at 61 and 1.6× at 125.
const minFramesPerThread = 64

// stftShard is one thread's share of a Problem's interior frames: frames [a, b) of the interior
// group (numbered from its first frame), with its own STFT (shard 0: the Problem's), whose FFT
// plan and scratch its FrameLoss borrows. Its first lead frames overlap the previous shard's
// samples; a shard other than the first accumulates their gradient in its own edge buffer,
// which Eval adds onto the gradient after the round, so that no two threads write one sample.
type stftShard struct {
	s     *STFT
	fl    *FrameLoss
	a, b  int
	lead  int
	edge  []float64    // (lead−1)·hop + n_fft samples; nil for shard 0
	yw    []float64    // Inconsistency's window (allocated on its first call)
	spec2 []complex128 // Inconsistency's second spectrum
	f     float64      // the shard's part of the round's sum
}

// stftPar is a Problem's worker set: the shards, and the arguments of the current round. It
// refers to the Problem's STFT, target and tables, never to the Problem (see workerPool).
type stftPar struct {
	tgt, mag []float64   // the Problem's compressed and linear targets
	invD     sampleTable // the Problem's 1/D
	gi       int         // the interior group
	shards   []stftShard
	pool     *workerPool
	op       int       // the round's operation: opEval, opResidual or opPrecondition
	x, grad  []float64 // the round's arguments
}

const (
	opEval = iota
	opResidual
	opPrecondition
)

// newSTFTPar returns the worker set that runs p's loss on the interior frames of p.S with up to
// threads threads, or nil where fewer than two threads would each get minFramesPerThread frames.
// Shard 0 uses p's STFT and FrameLoss; the others get their own.
func newSTFTPar(p *Problem, threads int) *stftPar {
	s := p.S
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
	q := &stftPar{tgt: p.tgt, mag: p.mag, invD: p.invD, gi: gi, shards: make([]stftShard, t)}
	for k := range q.shards {
		sh := &q.shards[k]
		sh.a, sh.b, sh.s, sh.fl = split(frames, t, k), split(frames, t, k+1), s, p.fl
		if k > 0 {
			var err error
			if sh.s, err = NewSTFT(s.cfg, s.length); err != nil {
				panic("retrieval: " + err.Error()) // s's own configuration and length
			}
			sh.fl = newFrameLossOn(sh.s.plan, hop, s.win)
			sh.fl.gamma, sh.fl.eps2 = p.fl.gamma, p.fl.eps2
			sh.fl.SetPrecision(p.fl.Precision())
			sh.lead = lead
			if lead > 0 {
				sh.edge = make([]float64, (lead-1)*hop+n)
			}
		}
	}
	q.pool = newWorkerPool(t, q.run)
	return q
}

// run is thread k's part of the round's operation.
func (q *stftPar) run(k int) {
	switch q.op {
	case opEval:
		q.evalShard(k)
	case opResidual:
		q.residualShard(k)
	case opPrecondition:
		lo, hi := split(len(q.grad), len(q.shards), k), split(len(q.grad), len(q.shards), k+1)
		q.invD.mulRange(q.grad, lo, hi)
	}
}

// padded returns the padded groups thread k takes besides its interior frames: those before
// the interior for the first thread, those after it for the last.
func (q *stftPar) padded(k int) (from, to int) {
	sh := &q.shards[k]
	from, to = q.gi, q.gi
	if k == 0 {
		from = 0
	}
	if k == len(q.shards)-1 {
		to = len(sh.s.groups)
	}
	return from, to
}

// owned returns the first gradient sample that thread k writes and clears in Eval (the gradient's
// length for k = len(shards)): thread k owns [owned(k), owned(k+1)). Shard k ≥ 1 writes from its
// first frame after the lead (before: its edge buffer); shard 0 from sample 0, and the padded
// groups fold onto samples within n_fft of the ends, which a shard of at least 2·lead + 1
// frames leaves to the first and last threads.
func (q *stftPar) owned(k int) int {
	s := q.shards[0].s
	switch k {
	case 0:
		return 0
	case len(q.shards):
		return s.length
	}
	sh := &q.shards[k]
	return s.groups[q.gi].start + (sh.a+sh.lead)*s.cfg.Hop
}

// evalShard is thread k's part of Eval: shard k's frames, and its padded groups folded onto the
// gradient.
func (q *stftPar) evalShard(k int) {
	sh := &q.shards[k]
	s, x, grad := sh.s, q.x, q.grad
	sh.f = 0
	if grad != nil {
		clear(grad[q.owned(k):q.owned(k+1)])
	}
	from, to := q.padded(k)
	for gi := from; gi < q.gi; gi++ {
		sh.f += s.groups[gi].eval(sh.fl, grad, x, q.tgt, s.bins)
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
	for gi := q.gi + 1; gi < to; gi++ {
		sh.f += s.groups[gi].eval(sh.fl, grad, x, q.tgt, s.bins)
	}
}

// residualShard is thread k's part of Inconsistency: the residual of shard k's frames in runs of
// residualBlock frames, and of its padded groups.
func (q *stftPar) residualShard(k int) {
	sh := &q.shards[k]
	s := sh.s
	num := 0.0
	block := func(g *frameGroup, m0, m1, lo, hi int) {
		num = s.blockResidual(num, g, m0, m1, lo, hi, q.x, q.mag, sh.yw, sh.spec2)
	}
	from, to := q.padded(k)
	for gi := from; gi < q.gi; gi++ {
		g := &s.groups[gi]
		block(g, g.m0, g.m1, g.lo, g.hi)
	}
	g := &s.groups[q.gi]
	for m0 := g.m0 + sh.a; m0 < g.m0+sh.b; m0 += s.residualBlock() {
		m1 := min(g.m0+sh.b, m0+s.residualBlock())
		block(g, m0, m1, s.FrameStart(m0), s.FrameStart(m1-1)+s.cfg.NFFT)
	}
	for gi := q.gi + 1; gi < to; gi++ {
		g := &s.groups[gi]
		block(g, g.m0, g.m1, g.lo, g.hi)
	}
	sh.f = num
}

// round runs op on the threads with the arguments x and grad and returns the shards' sums added
// in shard order.
func (q *stftPar) round(op int, grad, x []float64) float64 {
	q.op, q.x, q.grad = op, x, grad
	q.pool.round()
	q.x, q.grad = nil, nil
	f := 0.0
	for k := range q.shards {
		f += q.shards[k].f
	}
	return f
}

// eval runs Eval on the threads: F summed over the shards in order, and the shards' edge
// gradients added in order after the round.
func (q *stftPar) eval(grad, x []float64) float64 {
	f := q.round(opEval, grad, x)
	if grad != nil {
		s := q.shards[0].s
		gs := grad[s.groups[q.gi].start:]
		for k := 1; k < len(q.shards); k++ {
			sh := &q.shards[k]
			addTo(gs[sh.a*s.cfg.Hop:], sh.edge)
		}
	}
	return f
}

// residual returns the numerator of Inconsistency, Σ over the shards in order; the first call
// allocates the shards' windows (shard 0 uses the Problem's).
func (q *stftPar) residual(x, yw []float64, spec2 []complex128) float64 {
	for k := range q.shards {
		sh := &q.shards[k]
		if k == 0 {
			sh.yw, sh.spec2 = yw, spec2
		} else if sh.yw == nil {
			sh.yw, sh.spec2 = make([]float64, len(yw)), make([]complex128, len(spec2))
		}
	}
	return q.round(opResidual, nil, x)
}

func (q *stftPar) threads() int {
	if q == nil {
		return 1
	}
	return len(q.shards)
}

// close stops the workers and releases their STFTs (nil: nothing to do).
func (q *stftPar) close() {
	if q == nil {
		return
	}
	q.pool.close()
	for k := 1; k < len(q.shards); k++ {
		q.shards[k].fl.Close() // its single-precision pass; the plan is the shard STFT's
		q.shards[k].s.Close()
	}
}

// addTo adds src onto dst[:len(src)].
func addTo(dst, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// minRowsPerThread is the fewest filter-bank rows (scales, and the low-pass filter) per thread
// for which ScalogramProblem.Eval splits its rows across threads, and minCWTLength the shortest
// transform that does (see ScalogramProblem.SetThreads). BenchmarkScalogramEvalThreads with the
// length threshold lowered: 2 threads 1.42–1.47× faster than 1 at 1 024 points (80 rows, 0.4 ms
// per Eval), 1.55–1.66× at 4 096; shorter transforms were not measured.
const (
	minRowsPerThread = 8
	minCWTLength     = 1024
)

// cwtShard is one thread's share of a ScalogramProblem's filter-bank rows [r0, r1), with its
// own scratch and gradient accumulator (thread 0: the CWT's and the Problem's).
type cwtShard struct {
	w      *cwtScratch
	gk, z  []complex128 // n each
	s      []complex128 // Inconsistency's scratch, Length() values
	r0, r1 int
	f      float64 // the shard's part of the round's sum
}

// cwtPar is a ScalogramProblem's worker set. It refers to the CWT and the target, never to the
// Problem (see workerPool).
type cwtPar struct {
	c            *CWT
	t            scalogramTarget
	shards       []cwtShard
	pool         *workerPool
	op           int          // opEval or opResidual
	grad         bool         // the round wants the gradient
	specX, specY []complex128 // opResidual's DFTs
}

// newCWTPar returns p's worker set for up to threads threads, or nil where fewer than two
// threads would each get minRowsPerThread rows or the transform is shorter than minCWTLength.
func newCWTPar(p *ScalogramProblem, threads int) *cwtPar {
	c := p.C
	t := min(threads, c.rows()/minRowsPerThread)
	if t < 2 || c.n < minCWTLength {
		return nil
	}
	q := &cwtPar{c: c, t: p.scalogramTarget, shards: make([]cwtShard, t)}
	for k := range q.shards {
		sh := &q.shards[k]
		sh.r0, sh.r1 = split(c.rows(), t, k), split(c.rows(), t, k+1)
		if k == 0 {
			sh.w, sh.gk, sh.z = &c.cwtScratch, p.gk, p.z
			continue
		}
		w := newCWTScratch(c.n)
		sh.w, sh.gk, sh.z = &w, make([]complex128, c.n), make([]complex128, c.n)
	}
	q.pool = newWorkerPool(t, q.run)
	return q
}

// run is thread k's part of the round: its rows' loss and gradient spectrum (opEval) or
// inconsistency terms (opResidual).
func (q *cwtPar) run(k int) {
	c, sh := q.c, &q.shards[k]
	if q.op == opResidual {
		sh.f = q.t.inconsistencyRows(0, c, sh.w, sh.s, q.specX, q.specY, sh.r0, sh.r1)
		return
	}
	sh.f = 0
	if q.grad {
		clear(sh.z)
	}
	for r := sh.r0; r < sh.r1; r++ {
		j := r
		if r == len(c.scales) {
			j = -1
		}
		sh.f += q.t.residual(j, c.row(sh.w, c.spec, r))
		if q.grad {
			c.accumulateOn(sh.w, sh.gk, sh.z, j)
		}
	}
}

// sum returns the shards' sums added in shard order.
func (q *cwtPar) sum() float64 {
	f := 0.0
	for k := range q.shards {
		f += q.shards[k].f
	}
	return f
}

// eval runs Eval's rows on the threads, given the signal's DFT in c.spec, and returns F; with
// grad, the shards' accumulators are added onto the first's (the Problem's z) in shard order.
func (q *cwtPar) eval(grad bool) float64 {
	q.op, q.grad = opEval, grad
	q.pool.round()
	if grad {
		z := q.shards[0].z
		for k := 1; k < len(q.shards); k++ {
			for i, v := range q.shards[k].z {
				z[i] += v
			}
		}
	}
	return q.sum()
}

// residual returns the numerator of Inconsistency from the DFTs of x and y; the first call
// allocates the shards' scratch.
func (q *cwtPar) residual(specX, specY []complex128) float64 {
	for k := range q.shards {
		if q.shards[k].s == nil {
			q.shards[k].s = make([]complex128, q.c.length)
		}
	}
	q.op, q.specX, q.specY = opResidual, specX, specY
	q.pool.round()
	q.specX, q.specY = nil, nil
	return q.sum()
}

func (q *cwtPar) threads() int {
	if q == nil {
		return 1
	}
	return len(q.shards)
}

// close stops the workers and releases their plans (nil: nothing to do).
func (q *cwtPar) close() {
	if q == nil {
		return
	}
	q.pool.close()
	for k := 1; k < len(q.shards); k++ {
		q.shards[k].w.plan.Close()
	}
}
