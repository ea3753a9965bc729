package retrieval

import (
	"math"
	"testing"
)

// TestDifferenceMapFixedPoint: the STFT coefficients of the signal whose magnitudes are the
// target lie in both sets, so the difference map leaves them where they are and returns the
// signal (to rounding), while from zero phase it moves.
func TestDifferenceMapFixedPoint(t *testing.T) {
	p, x := seedsChirp(t)
	y := append([]float64(nil), x...)
	p.differenceMap(y, 50, Options{})
	if e := RelativeL2(x, y); e > 1e-12 {
		t.Errorf("from the signal itself, 50 iterations moved it by %.3g (relative L2)", e)
	}
	z := make([]float64, len(x))
	if err := p.InitialSignal(z, InitZero, 0); err != nil {
		t.Fatal(err)
	}
	before := p.SpectralConvergence(z)
	p.differenceMap(z, 50, Options{})
	if after := p.SpectralConvergence(z); !(after < before) || math.IsNaN(after) {
		t.Errorf("from zero phase: SC %.3g before, %.3g after 50 iterations", before, after)
	}
}

// TestAutoCountsEveryIteration: Auto reports MaxIter iterations, calls OnIteration once per
// iteration in order across its difference-map and FGLA → L-BFGS parts, and Progress with
// counts that continue the difference map's.
func TestAutoCountsEveryIteration(t *testing.T) {
	p, _ := seedsChirp(t)
	var seen []int
	var prog []int
	res, err := Invert(p, Options{Optimizer: Auto, MaxIter: autoDMMinIter, Tol: -1, CheckEvery: 50,
		OnIteration: func(it int) { seen = append(seen, it) },
		Progress:    func(it int, _ float64) { prog = append(prog, it) }})
	if err != nil {
		t.Fatal(err)
	}
	n := autoDMMinIter
	if res.Iterations != n || len(seen) != n {
		t.Fatalf("%d iterations, %d callbacks, want %d", res.Iterations, len(seen), n)
	}
	for i, it := range seen {
		if it != i+1 {
			t.Fatalf("OnIteration %d reported %d", i+1, it)
		}
	}
	if k := n / autoDMShare; len(prog) == 0 || prog[0] != k+1 || prog[len(prog)-1] != n {
		t.Errorf("Progress at %v: want counts from %d, after the difference map, to %d", prog, k+1, n)
	}
}
