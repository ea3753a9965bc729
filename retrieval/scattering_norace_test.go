//go:build !race

package retrieval

import (
	"math"
	"testing"
)

// TestScatteringDoesNotAllocate: Transform, Eval with and without gradient, Precondition and
// Inconsistency allocate nothing once planned (the race detector allocates, hence the build tag).
func TestScatteringDoesNotAllocate(t *testing.T) {
	s, err := NewScattering(DefaultScatteringConfig(), 2048)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := make([]float64, 2048)
	for i := range x {
		x[i] = math.Cos(40 * float64(i) / 2047)
	}
	p, err := NewScatteringProblem(s, s.Transform(nil, x))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, s.Rows()*s.Frames())
	g := make([]float64, 2048)
	if a := testing.AllocsPerRun(5, func() {
		s.Transform(dst, x)
		p.Eval(g, x)
		p.Eval(nil, x)
		p.Precondition(g)
		p.Inconsistency(x)
	}); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
}
