package retrieval

import (
	"math"
	"slices"
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
// iteration in order across its difference-map and FGLA → L-BFGS parts, and Progress in both,
// with counts that continue the difference map's.
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
	// The difference map reports at 1 and every CheckEvery-th of its k iterations, the rest from
	// k+1 (its first check) in increasing counts to n.
	k := n / autoDMShare
	if len(prog) < 3 || prog[0] != 1 || prog[1] != 50 || !slices.Contains(prog, k) || !slices.Contains(prog, k+1) || prog[len(prog)-1] != n {
		t.Errorf("Progress at %v: want 1, 50, …, %d in the difference map, then %d … %d", prog, k, k+1, n)
	}
	for i := 1; i < len(prog); i++ {
		if prog[i] <= prog[i-1] {
			t.Errorf("Progress counts %v do not increase", prog)
			break
		}
	}
	// The difference map's reports are the inconsistency after the iteration they name: the
	// report at 1 is what one iteration from the start gives, not the start's.
	p2, _ := seedsChirp(t)
	opt, err := Options{Optimizer: Auto, MaxIter: autoDMMinIter, CheckEvery: 50}.withAuto()
	if err != nil {
		t.Fatal(err)
	}
	var first float64
	opt.Progress = func(it int, inc float64) {
		if it == 1 {
			first = inc
		}
	}
	x0, err := startSignal(p2.S.length, opt, p2.InitialSignal)
	if err != nil {
		t.Fatal(err)
	}
	x1 := slices.Clone(x0)
	start := p2.Inconsistency(x0)
	p2.differenceMap(x1, 1, opt)
	c := p2.S.Forward(nil, x0) // one iteration by hand: c ← c + P_A(2·P_B(c) − c) − P_B(c)
	pb := p2.S.Forward(nil, p2.S.Inverse(nil, c))
	refl := make([]complex128, len(c))
	for i := range c {
		refl[i] = 2*pb[i] - c[i]
	}
	ProjectMagnitude(refl, p2.mag)
	for i := range c {
		c[i] += refl[i] - pb[i]
	}
	if want := p2.Inconsistency(p2.S.Inverse(nil, c)); math.Abs(first-want) > 1e-12*want || first == start {
		t.Errorf("Progress(1) = %v, want the inconsistency after one iteration %v (the start's is %v)", first, want, start)
	}
}
