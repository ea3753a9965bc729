//go:build !race

package retrieval

import (
	"math/rand/v2"
	"testing"
)

// TestMelProblemDoesNotAllocate: Eval (with and without a gradient) and Precondition run
// allocation-free, for every compression, through the padded frame groups.
func TestMelProblemDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, lc := range melLossCases() {
		p, x := newRandomMelProblem(t, rng, Config{NFFT: 64, Hop: 16}, MelConfig{SampleRate: 8000, NFFT: 64, NMels: 12}, lc.loss, 300)
		g := make([]float64, len(x))
		if n := testing.AllocsPerRun(20, func() {
			p.Eval(g, x)
			p.Eval(nil, x)
			p.Precondition(g)
			p.Inconsistency(x)
		}); n != 0 {
			t.Errorf("%s: %v allocations per Eval/Precondition/Inconsistency", lc.name, n)
		}
	}
}
