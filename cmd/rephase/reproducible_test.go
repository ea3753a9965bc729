package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rephase/rephase/stream/wav"
)

// TestRunsAreBitIdentical runs invert (L-BFGS), stream (fixed iterations per hop) and invert --tfr
// cwt twice each, every run in its own process, and compares the output WAVs byte for byte, under
// each FFT planning mode. Under the default (wisdom) the first process measures the plans into a
// fresh wisdom file and the second makes them from it. The pure-Go build runs this too (the test
// command's CGO_ENABLED=0 pass builds the binary without FFTW).
func TestRunsAreBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	if err := wav.Write(in, 16000, [][]float64{speechLike()}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"invert", []string{"invert", in, "--method", "lbfgs", "--iters", "60"}},
		{"stream", []string{"stream", in, "--lookahead", "3", "--iters-per-hop", "24"}},
		{"cwt", []string{"invert", in, "--tfr", "cwt", "--iters", "15"}},
	}
	for _, planning := range []string{"wisdom", "estimate"} {
		wisdom := filepath.Join(t.TempDir(), "fftw-wisdom")
		for _, c := range cases {
			var outs [2][]byte
			for run := range outs {
				out := filepath.Join(dir, c.name+".wav")
				cmd := exec.Command(bin, append(c.args, "--out", out)...)
				cmd.Env = append(os.Environ(), "REPHASE_FFT_PLANNING="+planning, "REPHASE_FFTW_WISDOM="+wisdom)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s (%s) run %d: %v\n%s", c.name, planning, run+1, err, b)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				outs[run] = b
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Errorf("%s (planning %s): two runs wrote different bytes", c.name, planning)
			}
		}
	}
}
