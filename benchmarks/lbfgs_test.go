package benchmarks

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/optimize"

	"github.com/rephase/rephase/retrieval"
)

// BenchmarkLBFGS compares our L-BFGS (retrieval.Invert, method gd, optimizer lbfgs, on the exact
// reflect-padded model) with gonum's optimize.LBFGS on the same objective and the same
// preconditioner, on 1.4 s of espeak-ng speech at 16 kHz (n_fft 512, hop 128). gonum has no
// initial-Hessian hook, so it minimises over z with x = D^{−1/2}·z, where identity in z is D⁻¹ in
// x; its default line search (strong Wolfe) and memory 10. Both run a fixed number of major
// iterations; the metrics are spectral convergence (dB), milliseconds per iteration and objective
// evaluations per iteration.
//
//	go test -run '^$' -bench LBFGS -benchtime 3x ./benchmarks
func BenchmarkLBFGS(b *testing.B) {
	x, err := Speech(16000, 1.4)
	if err != nil {
		b.Skip(err)
	}
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 512, Hop: 128}, len(x))
	if err != nil {
		b.Fatal(err)
	}
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		b.Fatal(err)
	}
	for _, iters := range []int{100, 300} {
		b.Run("own/iters="+strconv.Itoa(iters), func(b *testing.B) {
			var sc float64
			for range b.N {
				res, err := retrieval.Invert(p, retrieval.Options{Optimizer: retrieval.LBFGS, MaxIter: iters, Exact: true})
				if err != nil {
					b.Fatal(err)
				}
				sc = p.SpectralConvergence(res.Signal)
			}
			b.ReportMetric(retrieval.DB(sc), "sc_db")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*iters), "ms/iteration")
		})
		b.Run("gonum/iters="+strconv.Itoa(iters), func(b *testing.B) {
			var sc float64
			evals := 0
			for range b.N {
				xs, n := gonumLBFGS(b, p, iters)
				sc, evals = p.SpectralConvergence(xs), evals+n
			}
			b.ReportMetric(retrieval.DB(sc), "sc_db")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*iters), "ms/iteration")
			b.ReportMetric(float64(evals)/float64(b.N*iters), "evals/iteration")
		})
	}
}

// gonumLBFGS minimises p's objective from the zero-phase initial signal with gonum's L-BFGS and
// returns the signal and the number of objective evaluations.
func gonumLBFGS(b *testing.B, p *retrieval.Problem, iters int) ([]float64, int) {
	n := p.S.Length()
	x0 := make([]float64, n)
	if err := p.InitialSignal(x0, retrieval.InitZero, 0); err != nil {
		b.Fatal(err)
	}
	scale := p.InversePreconditioner() // x = sqrt(D⁻¹)·z
	for i, v := range scale {
		scale[i] = math.Sqrt(v)
	}
	z0 := make([]float64, n)
	for i, v := range x0 {
		if scale[i] > 0 {
			z0[i] = v / scale[i]
		}
	}
	// Cache F and ∇F at the last point: gonum asks for both at the same z.
	var lastZ, xg, g []float64
	var lastF float64
	evals := 0
	xs := make([]float64, n)
	eval := func(z []float64) {
		if lastZ != nil && slices.Equal(z, lastZ) {
			return
		}
		lastZ = append(lastZ[:0], z...)
		for i := range z {
			xs[i] = scale[i] * z[i]
		}
		if g == nil {
			g, xg = make([]float64, n), make([]float64, n)
		}
		lastF = p.Eval(xg, xs)
		for i := range g {
			g[i] = scale[i] * xg[i]
		}
		evals++
	}
	prob := optimize.Problem{
		Func: func(z []float64) float64 { eval(z); return lastF },
		Grad: func(grad, z []float64) { eval(z); copy(grad, g) },
	}
	res, err := optimize.Minimize(prob, z0, &optimize.Settings{
		MajorIterations: iters,
		Converger:       optimize.NeverTerminate{},
	}, &optimize.LBFGS{Store: 10, GradStopThreshold: math.NaN()})
	if err != nil && res == nil {
		b.Fatal(err)
	}
	for i := range xs {
		xs[i] = scale[i] * res.X[i]
	}
	return xs, evals
}
