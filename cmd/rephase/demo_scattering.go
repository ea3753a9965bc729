package main

import (
	"math"
	"time"

	"github.com/rephase/rephase/retrieval"
)

// demoScattering is the Kymatio scattering example: cos(40 t), t = linspace(0, 1, 2048), recovered
// from Kymatio's Scattering1D(shape=2048, J=6, Q=8) coefficients by L-BFGS from seeded noise
// (the reference run is 100 iterations of SGD with momentum; benchmarks/report_static.md, "Scattering
// inversion", compares). It returns the signal and its row; SCdB is in the scattering domain.
func demoScattering(iters int) (demoRow, []float64, error) {
	start := time.Now()
	const n = 2048
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Cos(40 * float64(i) / (n - 1))
	}
	s, err := retrieval.NewScattering(retrieval.DefaultScatteringConfig(), n)
	if err != nil {
		return demoRow{}, nil, err
	}
	defer s.Close()
	p, err := retrieval.NewScatteringProblem(s, s.Transform(nil, x))
	if err != nil {
		return demoRow{}, nil, err
	}
	opt := retrieval.DefaultScatteringOptions()
	opt.MaxIter, opt.Seed = iters, 1
	res, err := retrieval.InvertScattering(p, opt)
	if err != nil {
		return demoRow{}, nil, err
	}
	return demoRow{Name: "scattering " + opt.Optimizer.String(), Init: "noise", Iterations: res.Iterations, Mode: "offline",
		SCdB: retrieval.DB(p.SpectralConvergence(res.Signal)), RelL2: retrieval.RelativeL2(x, res.Signal),
		Seconds: time.Since(start).Seconds(), Inconsistency: res.Inconsistency}, res.Signal, nil
}
