package benchmarks

import (
	"fmt"
	"image/png"
	"os"
	"testing"
)

// plotResults measures what the report's figures draw, and nothing else: the streaming cases of
// the matrix on one input at the first setup, and the anytime sweep at its largest look-ahead on
// the same input.
func plotResults(in Input, quick bool) (*Results, error) {
	su := Setups[0]
	cfg, err := su.STFT.Resolve()
	if err != nil {
		return nil, err
	}
	r := &Results{plotInput: in.Name}
	for _, c := range streamCases(quick) {
		row, hops, y, err := runStreaming(in, su, cfg, c)
		if err != nil {
			return nil, err
		}
		if c.isDefault || (quick && c.method == "engine") {
			r.hopTimes = hops
			r.spectro = spectroData{cfg: cfg, rate: su.Rate, orig: in.X, re: y,
				what: fmt.Sprintf("ℓ = %d, K = %d", c.cfg.Lookahead, c.cfg.ItersPerHop)}
		}
		r.Rows = append(r.Rows, row)
	}
	look := 0
	for _, c := range anytimeCases(quick) {
		look = max(look, c.cfg.Lookahead)
	}
	for _, c := range anytimeCases(quick) {
		if c.cfg.Lookahead != look {
			continue
		}
		row, _, _, err := runStreaming(in, su, cfg, c)
		if err != nil {
			return nil, err
		}
		r.Anytime = append(r.Anytime, row)
	}
	return r, nil
}

// checkPlots checks that writePlots wrote every figure into dir as a PNG that decodes.
func checkPlots(t *testing.T, r *Results, dir string) {
	t.Helper()
	out, err := writePlots(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"front", "iters", "compute", "hist", "spectro", "spectro2"} {
		path, ok := out[k]
		if !ok {
			t.Errorf("no %s figure", k)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
			t.Errorf("%s is %v pixels", path, b.Size())
		}
	}
}

// TestWritePlots draws every report figure from the quick matrix's cases on a short chirp.
func TestWritePlots(t *testing.T) {
	ins, _ := Inputs(Setups[0].Rate, 0.5, NoSpeech)
	r, err := plotResults(ins[0], true)
	if err != nil {
		t.Fatal(err)
	}
	checkPlots(t, r, t.TempDir())
}

// TestRegeneratePlots redraws benchmarks/plots' report figures (sc_vs_latency, sc_vs_iterations,
// sc_vs_compute, hop_histogram, spectrogram_*) from the full matrix's cases on its plotted input,
// espeak-ng speech, without the rest of `rephase bench` (about a minute instead of several):
//
//	REPHASE_REGEN_PLOTS=1 go test -run TestRegeneratePlots -v ./benchmarks/
//
// The SC of fixed-K runs is deterministic and matches the report's tables; compute times and
// deadline runs are this run's.
func TestRegeneratePlots(t *testing.T) {
	if os.Getenv("REPHASE_REGEN_PLOTS") == "" {
		t.Skip("set REPHASE_REGEN_PLOTS=1 to redraw benchmarks/plots")
	}
	x, err := Speech(Setups[0].Rate, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := plotResults(Input{"speech", x}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkPlots(t, r, "plots")
}
