package main

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

func TestInvertWAVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := retrieval.LogChirp(8000, 8000, 50, 3000)
	if err := wav.Write(in, 8000, [][]float64{x, x}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	if err := runInvert([]string{in, "--out", out, "--n-fft", "256", "--iters", "200", "--tol", "0"}); err != nil {
		t.Fatal(err)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != 8000 || len(a.Channels) != 2 || a.Len() != len(x) {
		t.Fatalf("output %d Hz, %d channels, %d samples", a.SampleRate, len(a.Channels), a.Len())
	}
	s, _ := retrieval.NewSTFT(retrieval.Config{NFFT: 256}, len(x))
	sc := retrieval.SpectralConvergence(s.Magnitude(nil, a.Channels[1]), s.Magnitude(nil, x))
	if db := retrieval.DB(sc); db > -25 {
		t.Errorf("spectral convergence of the inverted WAV %.2f dB > −25 dB", db)
	}
}

// TestBadInputExitsWithInputErrorAndNoOutput checks the errors name the file and position and
// that no output file is left behind.
func TestBadInputExitsWithInputErrorAndNoOutput(t *testing.T) {
	dir := t.TempDir()
	notWav := filepath.Join(dir, "notes.wav")
	os.WriteFile(notWav, []byte("just some text"), 0o644)
	truncated := filepath.Join(dir, "short.wav")
	wav.Write(truncated, 8000, [][]float64{make([]float64, 1000)}, wav.PCM16)
	b, _ := os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)-100], 0o644)
	empty := filepath.Join(dir, "empty.wav")
	wav.Write(empty, 8000, [][]float64{{}}, wav.Float32)
	negative := filepath.Join(dir, "neg.npy")
	writeNpy(t, negative, 257, 3, func(i int) float64 {
		if i == 1*3+2 { // row (bin) 1, column (frame) 2 of a C-order 257 × 3 array
			return -1
		}
		return 1
	})
	wrongBins := filepath.Join(dir, "bins.npy")
	writeNpy(t, wrongBins, 100, 3, func(int) float64 { return 1 })
	ints := filepath.Join(dir, "ints.npy")
	writeNpyRaw(t, ints, "<i4", 257, 3, make([]byte, 4*257*3))
	for _, c := range []struct {
		in, want string
	}{
		{notWav, "not a RIFF/WAVE"},
		{truncated, "truncated data chunk"},
		{empty, "zero-length"},
		{negative, "frame 2, bin 1"},
		{wrongBins, "100 bins"},
		{ints, "dtype"},
	} {
		out := filepath.Join(dir, "out.wav")
		err := runInvert([]string{c.in, "--n-fft", "512", "--out", out}) // explicit: a .npy's is inferred otherwise
		var ie inputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.in) {
			t.Errorf("%s: error %v, want an input error naming the file and %q", filepath.Base(c.in), err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: output file written despite the error", filepath.Base(c.in))
		}
	}
}

// writeNpy writes a little-endian float64 .npy array of shape (rows, cols), C order.
func writeNpy(t *testing.T, path string, rows, cols int, val func(i int) float64) {
	var data []byte
	for i := 0; i < rows*cols; i++ {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(val(i)))
	}
	writeNpyRaw(t, path, "<f8", rows, cols, data)
}

// writeNpyRaw writes a version 1.0 .npy file: header for dtype descr and shape (rows, cols),
// C order, then data as given.
func writeNpyRaw(t *testing.T, path, descr string, rows, cols int, data []byte) {
	hdr := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + itoa(rows) + ", " + itoa(cols) + "), }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	b = append(b, hdr...)
	b = append(b, data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestInvertScalogram runs invert --tfr cwt on the seeds' chirp (as WAV) and checks the
// recovery and the JSON-relevant figures through the written file.
func TestInvertScalogram(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "chirp.wav")
	x := retrieval.LogChirp(2048, 2048, 1, 1024)
	for i := range x {
		x[i] = 0.5 * (x[i] + 1)
	}
	if err := wav.Write(in, 2048, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	if err := runInvert([]string{in, "--tfr", "cwt", "--include-lowpass", "--iters", "1500", "--out", out}); err != nil {
		t.Fatal(err)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != len(x) || a.SampleRate != 2048 {
		t.Fatalf("output %d samples at %d Hz", a.Len(), a.SampleRate)
	}
	if rel := retrieval.RelativeL2(x, a.Channels[0]); rel > 0.05 {
		t.Errorf("relative L2 %.4f > 0.05", rel)
	}
}

func TestInvertScalogramBadInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tone.wav")
	x := make([]float64, 4000)
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * 440 * float64(i) / 8000)
	}
	wav.Write(in, 8000, [][]float64{x}, wav.PCM16)
	tiny := filepath.Join(dir, "tiny.wav")
	wav.Write(tiny, 8000, [][]float64{x[:3]}, wav.PCM16)
	npy := filepath.Join(dir, "m.npy")
	writeNpy(t, npy, 257, 3, func(int) float64 { return 1 })
	out := filepath.Join(dir, "out.wav")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{in, "--freq-limits", "100,5000"}, "fs/2"},
		{[]string{in, "--freq-limits", "0,1000"}, "0 < fmin"},
		{[]string{in, "--freq-limits", "1000"}, "FMIN,FMAX"},
		{[]string{in, "--voices", "0"}, "voices per octave"},
		{[]string{in, "--freq-limits", "1000,1010", "--voices", "4"}, "less than one voice"},
		{[]string{in, "--wavelet", "haar"}, "unknown wavelet"},
		{[]string{tiny, "--pad", "0"}, "at least 4 samples"},
		{[]string{npy}, "--tfr cwt inverts the scalogram of a WAV"},
		{[]string{in, "--init", "pghi"}, "for the STFT"},
	} {
		err := runInvert(append(c.args, "--tfr", "cwt", "--iters", "5", "--out", out))
		var ie inputError
		if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("invert %v: %v, want an input error containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was written for bad input")
	}
}
