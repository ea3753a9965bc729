package retrieval

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// threadCases are STFT configurations for the multi-threaded Eval: every framing and padding,
// a hop that does not divide n_fft, a short window, and the compressed loss.
var threadCases = []struct {
	name string
	cfg  Config
	loss Loss
}{
	{"center-reflect", Config{NFFT: 64, Hop: 16}, Loss{}},
	{"center-zero", Config{NFFT: 64, Hop: 16, Pad: Zero}, Loss{}},
	{"full", Config{NFFT: 64, Hop: 16, Framing: Full}, Loss{}},
	{"inner-hop-24", Config{NFFT: 64, Hop: 24, Framing: Inner}, Loss{}},
	{"short-window", Config{NFFT: 64, WinLength: 40, Hop: 10}, Loss{}},
	{"compressed", Config{NFFT: 64, Hop: 16}, Loss{Compress: 0.3}},
	{"hop-n_fft", Config{NFFT: 64, Hop: 64, Window: Rectangular}, Loss{}},
}

// threadProblem returns a Problem on a random signal of length samples whose target is the
// magnitude of another random signal, and a point x to evaluate at.
func threadProblem(t testing.TB, cfg Config, loss Loss, length int, seed uint64) (*Problem, []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := mustSTFT(t, cfg, length)
	p, err := NewProblem(s, s.Magnitude(nil, randSignal(rng, length)), loss)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, randSignal(rng, length)
}

// threadedObjective is what both Problem kinds offer for threads.
type threadedObjective interface {
	objective
	SetThreads(n int)
	Threads() int
}

// TestEvalThreadsMatchSingleThread: for every STFT case, see checkThreads.
func TestEvalThreadsMatchSingleThread(t *testing.T) {
	for _, c := range threadCases {
		p, x := threadProblem(t, c.cfg, c.loss, 40000, 3)
		checkThreads(t, c.name, p, x, []int{2, 3, 5}, func() threadedObjective {
			q, _ := threadProblem(t, c.cfg, c.loss, 40000, 3)
			return q
		})
	}
}

// TestScalogramThreadsMatchSingleThread: for every CWT case on 2048 samples, see checkThreads.
func TestScalogramThreadsMatchSingleThread(t *testing.T) {
	for _, c := range cwtCases() {
		mk := func() (*ScalogramProblem, []float64) {
			p, x := randomScalogramProblem(t, rand.New(rand.NewPCG(6, 7)), c.cfg, 2048)
			t.Cleanup(p.Close)
			return p, x
		}
		p, x := mk()
		ns := []int{2, 3}
		if p.C.rows() < 3*minRowsPerThread {
			ns = ns[:1]
		}
		checkThreads(t, c.name, p, x, ns, func() threadedObjective { q, _ := mk(); return q })
	}
}

// checkThreads: with each thread count of ns, p's F and gradient agree with the single-threaded
// ones within 1e-12 relative (F) and 1e-12 of the gradient's largest value, without a gradient
// too; Precondition gives the same bits and Inconsistency agrees within 1e-12 relative; two
// evaluations, and two Problems (fresh makes another like p), with the same thread count give
// the same bits; and back on one thread the results are the single-threaded ones again.
func checkThreads(t *testing.T, name string, p threadedObjective, x []float64, ns []int, fresh func() threadedObjective) {
	t.Helper()
	g1 := make([]float64, len(x))
	f1 := p.Eval(g1, x)
	f1n := p.Eval(nil, x)
	inc1 := p.Inconsistency(x)
	pre1 := slices.Clone(g1)
	p.Precondition(pre1)
	for _, n := range ns {
		p.SetThreads(n)
		if p.Threads() != n {
			t.Fatalf("%s: SetThreads(%d) gives %d threads", name, n, p.Threads())
		}
		g := make([]float64, len(x))
		f := p.Eval(g, x)
		if math.Abs(f-f1) > 1e-12*math.Abs(f1) {
			t.Errorf("%s, %d threads: F = %v, single-threaded %v", name, n, f, f1)
		}
		if fn := p.Eval(nil, x); math.Abs(fn-f1n) > 1e-12*math.Abs(f1n) {
			t.Errorf("%s, %d threads: F without gradient = %v, single-threaded %v", name, n, fn, f1n)
		}
		if d := maxDiff(g, g1); d > 1e-12*maxAbs(g1) {
			t.Errorf("%s, %d threads: gradient differs by %g, max |gradient| %g", name, n, d, maxAbs(g1))
		}
		if inc := p.Inconsistency(x); math.Abs(inc-inc1) > 1e-12*inc1 || p.Inconsistency(x) != inc {
			t.Errorf("%s, %d threads: inconsistency %v (twice: %v), single-threaded %v", name, n, inc, p.Inconsistency(x), inc1)
		}
		pre := slices.Clone(g1)
		if p.Precondition(pre); maxDiff(pre, pre1) > 1e-12*maxAbs(pre1) {
			t.Errorf("%s, %d threads: Precondition differs from the single-threaded one", name, n)
		}
		again := make([]float64, len(x))
		if fa := p.Eval(again, x); fa != f || !slices.Equal(again, g) {
			t.Errorf("%s, %d threads: a second Eval differs in the last bits", name, n)
		}
		q := fresh()
		q.SetThreads(n)
		if fq := q.Eval(again, x); fq != f || !slices.Equal(again, g) {
			t.Errorf("%s, %d threads: another Problem's Eval differs in the last bits", name, n)
		}
	}
	p.SetThreads(1)
	g := make([]float64, len(x))
	if f := p.Eval(g, x); f != f1 || !slices.Equal(g, g1) || p.Inconsistency(x) != inc1 {
		t.Errorf("%s: back to 1 thread, Eval or Inconsistency differs from the single-threaded one", name)
	}
}

// TestShortInputStaysSingleThreaded: fewer than minFramesPerThread interior frames per thread
// keep Eval on one thread, and Threads says how many a long input gets.
func TestShortInputStaysSingleThreaded(t *testing.T) {
	cfg := Config{NFFT: 64, Hop: 16}
	p, _ := threadProblem(t, cfg, Loss{}, 16*(2*minFramesPerThread-4), 1)
	p.SetThreads(8)
	if p.Threads() != 1 {
		t.Errorf("%d frames: %d threads, want 1", p.S.Frames(), p.Threads())
	}
	q, _ := threadProblem(t, cfg, Loss{}, 16*(3*minFramesPerThread+4), 1)
	q.SetThreads(8)
	if q.Threads() != 3 {
		t.Errorf("%d frames: %d threads, want 3", q.S.Frames(), q.Threads())
	}
}

// TestCloseStopsWorkers: SetThreads starts n−1 worker goroutines; Close and SetThreads(1) stop
// them, and the Problem stays usable.
func TestCloseStopsWorkers(t *testing.T) {
	p, x := threadProblem(t, Config{NFFT: 64, Hop: 16}, Loss{}, 40000, 2)
	waitWorkers(t, 0) // other tests' workers may still be exiting
	p.SetThreads(4)
	p.Eval(nil, x)
	waitWorkers(t, 3)
	p.Close()
	waitWorkers(t, 0)
	p.SetThreads(3)
	waitWorkers(t, 2)
	p.SetThreads(1)
	waitWorkers(t, 0)
	if p.Eval(nil, x) <= 0 {
		t.Error("Eval after Close: F ≤ 0")
	}
}

// TestUnclosedProblemStopsWorkers: the workers of a Problem that is dropped without Close stop
// once it is collected.
func TestUnclosedProblemStopsWorkers(t *testing.T) {
	s := mustSTFT(t, Config{NFFT: 64, Hop: 16}, 40000)
	x := randSignal(rand.New(rand.NewPCG(1, 2)), 40000)
	mag := s.Magnitude(nil, x)
	waitWorkers(t, 0)
	func() {
		p, err := NewProblem(s, mag, Loss{})
		if err != nil {
			t.Fatal(err)
		}
		p.SetThreads(3)
		p.Eval(nil, x)
		waitWorkers(t, 2)
		runtime.KeepAlive(p)
	}()
	for i := 0; i < 100 && workers() > 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	waitWorkers(t, 0)
}

// workers returns the number of goroutines that run a worker pool's loop.
func workers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "newWorkerPool.func")
}

// waitWorkers waits (up to 5 s) until exactly n goroutines run a worker pool's loop.
func waitWorkers(t *testing.T, n int) {
	t.Helper()
	got := -1
	for range 500 {
		if got = workers(); got == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d worker goroutines, want %d", got, n)
}

// TestInvertThreads: Invert with Options.Threads 2 (through the padding relaxation) gives the
// same bits on two runs, stays close to the single-threaded result over a few iterations, and
// leaves the Problem on 2 threads.
func TestInvertThreads(t *testing.T) {
	p, _ := threadProblem(t, Config{NFFT: 64, Hop: 16}, Loss{}, 40000, 4)
	opt := Options{MaxIter: 40}
	r1, err := Invert(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Threads = 2
	ra, err := Invert(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Invert(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ra.Signal, rb.Signal) {
		t.Error("two 2-thread runs differ")
	}
	if p.Threads() != 2 {
		t.Errorf("after Invert with 2 threads the Problem has %d", p.Threads())
	}
	if d := maxDiff(ra.Signal, r1.Signal); d > 1e-9*maxAbs(r1.Signal) {
		t.Errorf("2 threads vs 1: max difference %g of max |x| %g", d, maxAbs(r1.Signal))
	}
	if _, err := Invert(p, Options{Threads: -1}); err == nil {
		t.Error("negative Threads accepted")
	}
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
