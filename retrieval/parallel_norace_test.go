//go:build !race

package retrieval

import (
	"math/rand/v2"
	"testing"
)

// TestThreadedEvalDoesNotAllocate: with its workers running, Eval (with and without a gradient),
// Precondition and, after its first call, Inconsistency allocate nothing.
func TestThreadedEvalDoesNotAllocate(t *testing.T) {
	p, x := threadProblem(t, Config{NFFT: 64, Hop: 16}, Loss{}, 40000, 5)
	p.SetThreads(3)
	if p.Threads() != 3 {
		t.Fatalf("%d threads", p.Threads())
	}
	g := make([]float64, len(x))
	p.Inconsistency(x)
	if n := testing.AllocsPerRun(20, func() {
		p.Eval(g, x)
		p.Eval(nil, x)
		p.Precondition(g)
		p.Inconsistency(x)
	}); n != 0 {
		t.Errorf("%v allocations per threaded Eval, Precondition and Inconsistency", n)
	}
}

// TestThreadedScalogramDoesNotAllocate: with its workers running, ScalogramProblem's Eval (with
// and without a gradient) and, after its first call, Inconsistency allocate nothing.
func TestThreadedScalogramDoesNotAllocate(t *testing.T) {
	p, x := randomScalogramProblem(t, rand.New(rand.NewPCG(8, 9)), CWTConfig{IncludeLowpass: true}, 2048)
	defer p.Close()
	p.SetThreads(2)
	if p.Threads() != 2 {
		t.Fatalf("%d threads", p.Threads())
	}
	g := make([]float64, len(x))
	p.Inconsistency(x)
	if n := testing.AllocsPerRun(3, func() {
		p.Eval(g, x)
		p.Eval(nil, x)
		p.Inconsistency(x)
	}); n != 0 {
		t.Errorf("%v allocations per threaded scalogram Eval and Inconsistency", n)
	}
}
