package retrieval

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// scatteringCase is one of the reference cases (testdata/scattering1d).
type scatteringCase struct {
	name string
	cfg  ScatteringConfig
}

var scatteringCases = []scatteringCase{
	{"cos40_N2048_J6_Q8", ScatteringConfig{J: 6, Q: 8, MaxOrder: 2}},
	{"harmonic_N8192_J6_Q16", ScatteringConfig{J: 6, Q: 16, MaxOrder: 2}},
}

// stftSC256 is the STFT-domain measure: spectral convergence of |STFT| with n_fft 256,
// hop 64 (Hann, centred, reflect padding: the package defaults).
func stftSC256(t testing.TB, ref, est []float64) float64 {
	t.Helper()
	cfg, err := Config{NFFT: 256, Hop: 64}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSTFT(cfg, len(ref))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return SpectralConvergence(s.Magnitude(nil, est), s.Magnitude(nil, ref))
}

func cpuSeconds() float64 {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// TestScatteringReport prints benchmarks/report_static.md's "Scattering inversion" tables:
// scattering and STFT spectral convergence against iterations for each optimizer on the issue's
// two cases, with wall and CPU seconds. Slow (about a minute); run with
// REPHASE_SCATTERING_REPORT=1 go test ./retrieval -run ScatteringReport -v; with
// REPHASE_SCATTERING_PLOTS=DIR it also draws SC against iterations, one PNG per case, into DIR.
func TestScatteringReport(t *testing.T) {
	if os.Getenv("REPHASE_SCATTERING_REPORT") == "" {
		t.Skip("set REPHASE_SCATTERING_REPORT=1")
	}
	type run struct {
		label string
		opt   ScatteringOptions
		unit  bool // the seeds' torch.randn start (unit variance) instead of InitNoise
	}
	plain := func(o Optimizer) ScatteringOptions {
		d := DefaultScatteringOptions()
		d.Optimizer, d.Warmup, d.Renormalize = o, 0, 0
		return d
	}
	withOpt := func(o Optimizer) ScatteringOptions {
		d := DefaultScatteringOptions()
		d.Optimizer = o
		return d
	}
	noRenorm := func(o Optimizer) ScatteringOptions {
		d := DefaultScatteringOptions()
		d.Optimizer, d.Renormalize = o, 0
		return d
	}
	runs := []run{
		{"lbfgs (default: warm-up 20 at weight 1000, renormalisation 1)", withOpt(LBFGS), false},
		{"lbfgs, warm-up, no renormalisation", noRenorm(LBFGS), false},
		{"lbfgs, plain MSE", plain(LBFGS), false},
		{"adam (lr 0.3), warm-up, renormalisation", withOpt(Adam), false},
		{"sgdm lr 500 μ 0.9, warm-up, renormalisation", withOpt(SGDM), false},
		{"sgdm lr 500 μ 0.9 from randn (the seeds' run)", plain(SGDM), true},
	}
	checkpoints := []int{1, 20, 50, 100, 200, 300, 1000} // multiples of CheckEvery, and 1
	plotDir := os.Getenv("REPHASE_SCATTERING_PLOTS")     // where to write one PNG per case, if set
	for _, c := range scatteringCases {
		var curves []any // label, plotter.XYs, … for plotutil.AddLines
		x := readScatteringNpy(t, c.name+"_x.npy")
		s, err := NewScattering(c.cfg, len(x))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewScatteringProblem(s, s.Transform(nil, x))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("\n%s (%d paths × %d frames, padded %d)\n\n", c.name, s.Rows(), s.Frames(), s.PaddedLength())
		fmt.Printf("| run | it 1 | 20 | 50 | 100 | 200 | 300 | 1000 | STFT SC at 100 / 1000 | s at 100 (wall / CPU) |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range runs {
			opt := r.opt
			opt.Tol, opt.Seed, opt.CheckEvery = 0, 1, 10
			if r.unit {
				opt.InitialSignal = make([]float64, len(x))
				fillNoise(opt.InitialSignal, 1, 1)
			}
			// Timed run of 100 iterations, no checks.
			o := opt
			o.MaxIter = 100
			t0, c0 := time.Now(), cpuSeconds()
			res, err := InvertScattering(p, o)
			if err != nil {
				t.Fatal(err)
			}
			wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
			stft100 := stftSC256(t, x, res.Signal)
			// 1000 iterations, the scattering SC at the checkpoints.
			at := map[int]float64{}
			o = opt
			o.MaxIter = 1000
			o.Progress = func(it int, v float64) { at[it] = v }
			if res, err = InvertScattering(p, o); err != nil {
				t.Fatal(err)
			}
			var pts plotter.XYs
			for it := 1; it <= 1000; it++ {
				if v, ok := at[it]; ok {
					pts = append(pts, plotter.XY{X: float64(it), Y: DB(v)})
				}
			}
			curves = append(curves, r.label, pts)
			row := "| " + r.label
			for _, k := range checkpoints {
				row += fmt.Sprintf(" | %.1f", DB(at[k]))
			}
			fmt.Printf("%s | %.1f / %.1f | %.2f / %.2f |\n", row, DB(stft100), DB(stftSC256(t, x, res.Signal)), wall, cpu)
		}
		s.Close()
		if plotDir != "" {
			pl := plot.New()
			pl.Title.Text = "Scattering inversion: " + c.name
			pl.X.Label.Text = "iterations"
			pl.Y.Label.Text = "scattering spectral convergence (dB)"
			pl.X.Scale = plot.LogScale{}
			pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
			pl.Add(plotter.NewGrid())
			if err := plotutil.AddLines(pl, curves...); err != nil {
				t.Fatal(err)
			}
			pl.Legend.Top = false
			pl.Legend.Left = true
			if err := pl.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(plotDir, "scattering_"+c.name+".png")); err != nil {
				t.Fatal(err)
			}
		}
	}
}
