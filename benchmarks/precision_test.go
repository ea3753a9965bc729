package benchmarks

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
	"github.com/rephase/rephase/stream"
)

var precisionReport = flag.Bool("precision-report", false, "regenerate results/precision.md (float32 against float64 spectral convergence, offline and streaming)")

// precisionRow is one configuration run in both precisions.
type precisionRow struct {
	input, mode, method string
	sc64, sc32          float64
}

// TestPrecisionTable measures the spectral convergence (independent metric) of float32 frame
// passes (fft.Float32) against float64, side by side on the same inputs: MATLAB's exponential
// chirp (2048 Hz, n_fft 128, hop 32), espeak-ng speech and the synthetic music with drums
// (16 kHz, n_fft 512, hop 128, 2 s); offline GLA and FGLA at 600 iterations and L-BFGS at 200,
// and the engine (FGLA, GLA, L-BFGS) at ℓ = 1 and 3 with K = 16, 64 and 256. With
// -precision-report it writes results/precision.md; otherwise it checks, on the chirp and the
// music, that the Griffin-Lim family agrees within 0.1 dB wherever float64 is above −60 dB.
// Neither precision's run is timed.
func TestPrecisionTable(t *testing.T) {
	if testing.Short() || fft.Backend != "fftw" || !fft.SinglePrecision {
		t.Skip("compares FFTW single and double precision (a few seconds)")
	}
	type input struct {
		name string
		x    []float64
		cfg  retrieval.Config
		rate int
	}
	ins := []input{{"chirp", Chirp(), retrieval.Config{NFFT: 128, Hop: 32}, 2048},
		{"music", Music(16000, 2, WithDrums), retrieval.Config{NFFT: 512, Hop: 128}, 16000}}
	if *precisionReport {
		sp, err := Speech(16000, 2)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins[:1], append([]input{{"speech", sp, retrieval.Config{NFFT: 512, Hop: 128}, 16000}}, ins[1:]...)...)
	}
	offline := []struct {
		name  string
		opt   retrieval.Options
		iters int
	}{{"GLA", retrieval.Options{Optimizer: retrieval.GLA}, 600}, {"FGLA", retrieval.Options{Optimizer: retrieval.FGLA}, 600},
		{"L-BFGS", retrieval.Options{Optimizer: retrieval.LBFGS}, 200}}
	type engineCase struct {
		o    stream.Optimizer
		l, k int
	}
	var engines []engineCase
	for _, o := range []stream.Optimizer{stream.FGLA, stream.GLA, stream.LBFGS} {
		for _, l := range []int{1, 3} {
			for _, k := range []int{16, 64, 256} {
				engines = append(engines, engineCase{o, l, k})
			}
		}
	}
	var rows []precisionRow
	var jobs []func()
	for _, in := range ins {
		for _, c := range offline {
			i := len(rows)
			rows = append(rows, precisionRow{input: in.name, mode: "offline", method: fmt.Sprintf("%s, %d iterations", c.name, c.iters)})
			jobs = append(jobs, func() {
				for _, prec := range []fft.Precision{fft.Float64, fft.Float32} {
					opt := c.opt
					opt.MaxIter, opt.Tol, opt.Precision = c.iters, -1, prec
					sc := offlineSC(t, in.x, in.cfg, opt)
					if prec == fft.Float64 {
						rows[i].sc64 = sc
					} else {
						rows[i].sc32 = sc
					}
				}
			})
		}
		if in.name == "chirp" {
			continue // 2048 samples: too short for the engine's table
		}
		for _, c := range engines {
			i := len(rows)
			rows = append(rows, precisionRow{input: in.name, mode: "streaming", method: fmt.Sprintf("%v, ℓ = %d, K = %d", c.o, c.l, c.k)})
			jobs = append(jobs, func() {
				for _, prec := range []fft.Precision{fft.Float64, fft.Float32} {
					ec := stream.Config{STFT: in.cfg, SampleRate: in.rate, Optimizer: c.o, Lookahead: c.l, ItersPerHop: c.k, Precision: prec}
					sc := streamSC(t, in.x, ec)
					if prec == fft.Float64 {
						rows[i].sc64 = sc
					} else {
						rows[i].sc32 = sc
					}
				}
			})
		}
	}
	var wg sync.WaitGroup
	next := make(chan func())
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				j()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var b strings.Builder
	b.WriteString("| input | mode | method | float64 SC dB | float32 SC dB | difference dB |\n|---|---|---|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %+.2f |\n", r.input, r.mode, r.method, r.sc64, r.sc32, r.sc32-r.sc64)
		gl := !strings.HasPrefix(r.method, "L-BFGS") && !strings.HasPrefix(r.method, "lbfgs")
		if !*precisionReport && gl && r.sc64 > -60 && math.Abs(r.sc32-r.sc64) > 0.1 {
			t.Errorf("%s %s %s: float32 %.2f dB against float64 %.2f dB", r.input, r.mode, r.method, r.sc32, r.sc64)
		}
	}
	t.Log("\n" + b.String())
	if *precisionReport {
		head := "# Spectral convergence: float32 frame passes against float64\n\n" +
			"`go test -run PrecisionTable -v ./benchmarks -args -precision-report` (needs espeak-ng and sox).\n" +
			"SC is the independent metric (center framing, reflect padding) of each output against its input.\n\n"
		if err := os.WriteFile("results/precision.md", []byte(head+b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// offlineSC inverts x's |STFT| (center framing, reflect padding) with opt and returns the
// spectral convergence of the result in dB.
func offlineSC(t *testing.T, x []float64, cfg retrieval.Config, opt retrieval.Options) float64 {
	t.Helper()
	cfg.Framing, cfg.Pad = retrieval.Center, retrieval.Reflect
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := retrieval.Invert(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	return retrieval.DB(p.SpectralConvergence(res.Signal))
}

// streamSC resynthesises x through an engine of config c and returns the output's spectral
// convergence in dB (independent metric).
func streamSC(t *testing.T, x []float64, c stream.Config) float64 {
	t.Helper()
	e, err := stream.NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, err := stream.NewAnalyzer(c.STFT)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	y, err := stream.Resynthesize(e, a, x)
	if err != nil {
		t.Fatal(err)
	}
	return retrieval.STFTSpectralConvergenceDB(c.STFT, x, y)
}
