//go:build !race

package retrieval

import "testing"

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
