package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// TestInvertScattering runs invert --tfr scattering on the seeds' cos(40 t) (as WAV) and checks
// the written file's STFT-domain spectral convergence (the scattering cannot see the sign).
func TestInvertScattering(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "cos.wav")
	x := make([]float64, 2048)
	for i := range x {
		x[i] = 0.5 * math.Cos(40*float64(i)/2047)
	}
	if err := wav.Write(in, 2048, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	if err := runInvert([]string{in, "--tfr", "scattering", "--J", "6", "--Q", "8", "--iters", "100", "--out", out}); err != nil {
		t.Fatal(err)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != len(x) || a.SampleRate != 2048 {
		t.Fatalf("output %d samples at %d Hz", a.Len(), a.SampleRate)
	}
	cfg, err := retrieval.Config{NFFT: 256, Hop: 64}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if sc := retrieval.STFTSpectralConvergenceDB(cfg, x, a.Channels[0]); sc > -20 {
		t.Errorf("STFT SC %.1f dB > −20 dB", sc)
	}
}

func TestInvertScatteringBadInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tone.wav")
	x := make([]float64, 1000)
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * 440 * float64(i) / 8000)
	}
	wav.Write(in, 8000, [][]float64{x}, wav.PCM16)
	npy := filepath.Join(dir, "m.npy")
	writeNpy(t, npy, 257, 3, func(int) float64 { return 1 })
	out := filepath.Join(dir, "out.wav")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{in, "--J", "10"}, "2^J ≤ length"},
		{[]string{in, "--Q", "0"}, "Q 0"},
		{[]string{in, "--max-order", "3"}, "max order 3"},
		{[]string{in, "--method", "fgla"}, "gradient descent"},
		{[]string{in, "--init", "zero"}, "--init noise"},
		{[]string{in, "--warmup", "-1"}, "--warmup"},
		{[]string{in, "--renormalize", "-1"}, "--renormalize"},
		{[]string{in, "--iters", "-1"}, "--iters -1"},
		{[]string{npy}, "--tfr scattering inverts the scattering of a WAV"},
	} {
		err := runInvert(append([]string{"--tfr", "scattering", "--iters", "2", "--out", out}, c.args...))
		var ie inputError
		if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("invert %v: %v, want an input error containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was written for bad input")
	}
}
