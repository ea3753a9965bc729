package benchmarks

import (
	"flag"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
)

var melReport = flag.Bool("mel-report", false, "print the mel inversion table of report_static.md (espeak-ng speech, HiFi-GAN conventions)")

// TestMelInversionTable inverts the HiFi-GAN log-mel spectrogram (22 050 Hz, n_fft 1024, hop 256,
// 80 Slaney bands 0–8 kHz, Slaney norm, magnitude, ln with clamp 1e-5; center=True, reflect) of
// 1.4 s of espeak-ng speech and prints, for each start (harmonic or clipped least-squares
// magnitudes, retrieval.MelStart; PGHI, zero or random phase) and iteration budget, the mel
// spectral convergence (uncompressed), the linear spectral convergence against the speech's
// |STFT| and the seconds (initialisation included):
//
//	go test -run MelInversionTable -v ./benchmarks -args -mel-report
//
// Without -mel-report it only checks 25-iteration runs from both PGHI starts on 0.3 s (espeak-ng
// and sox needed).
func TestMelInversionTable(t *testing.T) {
	secs, budgets := 0.3, []int{25}
	if *melReport {
		secs, budgets = 1.4, []int{25, 50, 100, 200}
	}
	x, err := Speech(22050, secs)
	if err != nil {
		t.Skip(err)
	}
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 1024, Hop: 256}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	mag := s.Magnitude(nil, x)
	mel, err := retrieval.NewMel(retrieval.MelConfig{SampleRate: 22050, NFFT: 1024, NMels: 80, FMax: 8000})
	if err != nil {
		t.Fatal(err)
	}
	logMel := mel.Apply(nil, mag)
	for i, v := range logMel {
		logMel[i] = math.Log(math.Max(v, 1e-5))
	}
	pLog, err := retrieval.NewMelProblem(s, mel, logMel, retrieval.MelLoss{Log: retrieval.LogLn})
	if err != nil {
		t.Fatal(err)
	}
	pLin, err := retrieval.NewMelProblem(s, mel, pLog.LinearTarget(), retrieval.MelLoss{})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := retrieval.NewProblem(s, mag, retrieval.Loss{})
	if err != nil {
		t.Fatal(err)
	}
	row := func(name string, it int, y []float64, sec float64) float64 {
		mdb := retrieval.DB(pLin.SpectralConvergence(y))
		fmt.Printf("| %s | %d | %.1f | %.1f | %.2f |\n", name, it, mdb, retrieval.DB(lp.SpectralConvergence(y)), sec)
		return mdb
	}
	fmt.Printf("espeak-ng speech, %d samples (%.2f s) at 22 050 Hz, %d frames\n\n", len(x), float64(len(x))/22050, s.Frames())
	fmt.Println("| method | iterations | mel SC dB | linear SC dB | seconds |\n|---|---:|---:|---:|---:|")
	type start struct {
		s    retrieval.MelStart
		init retrieval.Init
	}
	starts := []start{{retrieval.MelStartHarmonic, retrieval.InitPGHI}, {retrieval.MelStartLeastSquares, retrieval.InitPGHI},
		{retrieval.MelStartLeastSquares, retrieval.InitZero}, {retrieval.MelStartLeastSquares, retrieval.InitRandom}}
	if !*melReport {
		starts = starts[:2]
	}
	for _, st := range starts {
		name := "clipped LS"
		if st.s == retrieval.MelStartHarmonic {
			name = "harmonic"
		}
		for _, it := range budgets {
			for _, v := range []struct {
				name string
				p    *retrieval.MelProblem
			}{{"linear-mel loss", pLin}, {"ln-mel loss", pLog}} {
				if v.p == pLog && it != budgets[len(budgets)/2] {
					continue
				}
				v.p.Start = st.s
				t0 := time.Now()
				y := make([]float64, len(x))
				if err := v.p.InitialSignal(y, st.init, 1); err != nil {
					t.Fatal(err)
				}
				res, err := retrieval.InvertMel(v.p, retrieval.Options{Optimizer: retrieval.LBFGS, MaxIter: it, InitialSignal: y})
				if err != nil {
					t.Fatal(err)
				}
				mdb := row(fmt.Sprintf("%s + %s → L-BFGS, %s", name, st.init, v.name), it, res.Signal, time.Since(t0).Seconds())
				if !*melReport && st.init == retrieval.InitPGHI && v.p == pLin && mdb > -25 {
					t.Errorf("mel SC %.1f dB after %d iterations from %s + PGHI", mdb, it, name)
				}
			}
		}
	}
	if !*melReport {
		return
	}
	for _, it := range []int{100, 600} {
		t0 := time.Now()
		lsMag, err := pLin.LinearEstimate()
		if err != nil {
			t.Fatal(err)
		}
		pp, err := retrieval.NewProblem(s, lsMag, retrieval.Loss{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := retrieval.Invert(pp, retrieval.Options{Optimizer: retrieval.FGLA, MaxIter: it})
		if err != nil {
			t.Fatal(err)
		}
		row("clipped LS → FGLA on the linear estimate (the peers' recipe, rephase's FGLA)", it, res.Signal, time.Since(t0).Seconds())
	}
	t0 := time.Now()
	res, err := retrieval.Invert(lp, retrieval.Options{Optimizer: retrieval.FGLA, MaxIter: 100})
	if err != nil {
		t.Fatal(err)
	}
	row("oracle: FGLA on the true |STFT|", 100, res.Signal, time.Since(t0).Seconds())
}
