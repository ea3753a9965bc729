package benchmarks

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

var melStreamReport = flag.Bool("mel-stream-report", false, "print the streaming and music mel tables of report_static.md and write plots/mel_sc_vs_iterations.png")

// hifiganMel is HiFi-GAN's analysis: 22 050 Hz, n_fft 1024, hop 256, 80 Slaney bands 0–8 kHz,
// Slaney norm, magnitudes stored as ln(max(Φ·|X|, 1e-5)).
var (
	hifiganMelConfig = retrieval.MelConfig{SampleRate: 22050, NFFT: 1024, NMels: 80, FMax: 8000}
	hifiganMelLoss   = retrieval.MelLoss{Log: retrieval.LogLn}
)

// melSCdB returns the mel spectral convergence (uncompressed, center framing with reflect padding)
// and the linear spectral convergence of y against x, in dB.
func melSCdB(t *testing.T, fb *retrieval.Mel, x, y []float64) (float64, float64) {
	t.Helper()
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 1024, Hop: 256}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mx, my := s.Magnitude(nil, x), s.Magnitude(nil, y[:len(x)])
	return retrieval.DB(retrieval.SpectralConvergence(fb.Apply(nil, my), fb.Apply(nil, mx))), retrieval.DB(retrieval.SpectralConvergence(my, mx))
}

// TestMelStreamingTable streams HiFi-GAN log-mel frames (the engine's own analysis, stored as
// ln Φ·|X|) of espeak-ng speech and of synthetic music with drums through the mel engine
// (stream.Config.Mel) at ℓ = 0–3 with K = 16 and 64 and with a deadline of half the hop (the
// default anchor, stream.DefaultMelAnchor), and at ℓ = 3, K = 16 and 64 with the anchor off and
// at weights 0.01 and 0.1 (stream.Config.MelAnchor), and inverts the same music offline; with
// -mel-stream-report it prints the tables and writes the plot of mel SC against iterations per
// initialisation:
//
//	go test -run MelStreamingTable -v ./benchmarks -args -mel-stream-report
//
// Without the flag it checks ℓ = 3, K = 16 on 0.5 s of speech against the −25 dB goal.
func TestMelStreamingTable(t *testing.T) {
	secs := 0.5
	if *melStreamReport {
		secs = 1.4
	}
	speech, err := Speech(22050, secs)
	if err != nil {
		t.Skip(err)
	}
	fb, err := retrieval.NewMel(hifiganMelConfig)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []Input{{"speech", speech}}
	if *melStreamReport {
		inputs = append(inputs, Input{"music", Music(22050, secs, WithDrums)})
	}
	type run struct {
		look, k int
		budget  float64
		anchor  float64 // stream.Config.MelAnchor: 0 the default, −1 off
	}
	runs := []run{{3, 16, 0, 0}}
	if *melStreamReport {
		runs = nil
		for _, l := range []int{0, 1, 2, 3} {
			runs = append(runs, run{l, 16, 0, 0}, run{l, 64, 0, 0}, run{l, 0, 0.5, 0})
		}
		for _, k := range []int{16, 64} {
			for _, w := range []float64{-1, 0.01, 0.1} {
				runs = append(runs, run{3, k, 0, w})
			}
		}
	}
	if *melStreamReport {
		fmt.Println("| input | ℓ | latency ms | iterations per hop | anchor w | mel SC dB | linear SC dB | rtf |\n|---|---:|---:|---:|---:|---:|---:|---:|")
	}
	for _, in := range inputs {
		for _, r := range runs {
			c := stream.Config{STFT: retrieval.Config{NFFT: 1024, Hop: 256}, SampleRate: 22050, Lookahead: r.look,
				ItersPerHop: r.k, Budget: r.budget, Mel: &retrieval.MelConfig{NMels: 80, FMax: 8000}, MelLoss: hifiganMelLoss, MelAnchor: r.anchor}
			if r.look == 0 {
				c.WarmStart = stream.RTPGHICausal
			}
			e, err := stream.NewEngine(c)
			if err != nil {
				t.Fatal(err)
			}
			a, err := stream.NewAnalyzer(c.STFT)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			y, err := stream.Resynthesize(e, a, in.X) // the Pipeline's mel bottleneck makes the frames
			if err != nil {
				t.Fatal(err)
			}
			rtf := time.Since(t0).Seconds() / (float64(len(in.X)) / 22050)
			mel, lin := melSCdB(t, fb, in.X, y)
			st := e.Stats()
			iters := fmt.Sprint(r.k)
			if r.budget > 0 {
				iters = fmt.Sprintf("budget %.1f: %d (p50)", r.budget, st.IterationsPercentile(50))
			}
			anchor := fmt.Sprintf("%g (default)", stream.DefaultMelAnchor)
			switch {
			case r.anchor < 0:
				anchor = "off"
			case r.anchor > 0:
				anchor = fmt.Sprint(r.anchor)
			}
			if *melStreamReport {
				fmt.Printf("| %s | %d | %.0f | %s | %s | %.1f | %.1f | %.2f |\n", in.Name, r.look, 1000*float64(e.Latency().AudioToAudio)/22050, iters, anchor, mel, lin, rtf)
			} else if mel > -25 {
				t.Errorf("%s ℓ = %d K = %d: mel SC %.1f dB, want ≤ −25 dB", in.Name, r.look, r.k, mel)
			}
			e.Close()
			a.Close()
		}
	}
	if !*melStreamReport {
		return
	}
	// Offline, and the convergence curves per initialisation (mel SC at every iteration: the
	// linear-domain mel problem's inconsistency is the uncompressed mel SC).
	var curves []any
	fmt.Println("\n| input | start | iterations | mel SC dB | linear SC dB | seconds |\n|---|---|---:|---:|---:|---:|")
	for _, in := range inputs {
		s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 1024, Hop: 256}, len(in.X))
		if err != nil {
			t.Fatal(err)
		}
		logMel := fb.Apply(nil, s.Magnitude(nil, in.X))
		for i, v := range logMel {
			logMel[i] = math.Log(math.Max(v, 1e-5))
		}
		pLog, err := retrieval.NewMelProblem(s, fb, logMel, hifiganMelLoss)
		if err != nil {
			t.Fatal(err)
		}
		p, err := retrieval.NewMelProblem(s, fb, pLog.LinearTarget(), retrieval.MelLoss{})
		if err != nil {
			t.Fatal(err)
		}
		type start struct {
			s    retrieval.MelStart
			init retrieval.Init
		}
		for _, st := range []start{{retrieval.MelStartHarmonic, retrieval.InitPGHI}, {retrieval.MelStartLeastSquares, retrieval.InitPGHI},
			{retrieval.MelStartLeastSquares, retrieval.InitZero}, {retrieval.MelStartLeastSquares, retrieval.InitRandom}} {
			init, name := st.init, "clipped LS"
			if st.s == retrieval.MelStartHarmonic {
				name = "harmonic"
			}
			p.Start = st.s
			var pts plotter.XYs
			opt := retrieval.Options{Optimizer: retrieval.LBFGS, MaxIter: 200, Init: init, Seed: 1, CheckEvery: 1}
			opt.Progress = func(it int, v float64) { pts = append(pts, plotter.XY{X: float64(it), Y: retrieval.DB(v)}) }
			res, err := retrieval.InvertMel(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			curves = append(curves, fmt.Sprintf("%s, %s + %s", in.Name, name, init), pts)
			// The timed row: 100 iterations, no checks.
			opt.MaxIter, opt.CheckEvery, opt.Progress = 100, 0, nil
			t0 := time.Now()
			if res, err = retrieval.InvertMel(p, opt); err != nil {
				t.Fatal(err)
			}
			sec := time.Since(t0).Seconds()
			mel, lin := melSCdB(t, fb, in.X, res.Signal)
			fmt.Printf("| %s | %s + %s → L-BFGS | 100 | %.1f | %.1f | %.2f |\n", in.Name, name, init, mel, lin, sec)
		}
		s.Close()
	}
	pl := plot.New()
	pl.Title.Text = "Mel inversion (HiFi-GAN conventions): L-BFGS on the mel loss"
	pl.X.Label.Text = "iterations"
	pl.Y.Label.Text = "mel spectral convergence (dB)"
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.Add(plotter.NewGrid())
	if err := plotutil.AddLines(pl, curves...); err != nil {
		t.Fatal(err)
	}
	pl.Legend.Top = true // the curves start high on the left and end low on the right
	pl.Legend.Left = false
	if err := pl.Save(8*vg.Inch, 5*vg.Inch, filepath.Join("plots", "mel_sc_vs_iterations.png")); err != nil {
		t.Fatal(err)
	}
}
