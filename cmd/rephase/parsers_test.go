package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// writeNpyShape writes a version 1.0 .npy file with any dtype, order and shape literal, and data
// as given (issue 14's hostile files).
func writeNpyShape(t *testing.T, path, descr string, fortran bool, shape string, data []byte) {
	t.Helper()
	order := "False"
	if fortran {
		order = "True"
	}
	hdr := "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	b := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(hdr)))
	b = append(append(b, hdr...), data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInvertLibrosaFloat32 inverts what np.save("m.npy", np.abs(librosa.stft(y))) writes: a
// float32, Fortran-order bins × frames array (rejected with "types don't match" before issue 14),
// and the same magnitudes as float64 C order, big-endian, and batched (1, bins, frames): all four
// give the same output.
func TestInvertLibrosaFloat32(t *testing.T) {
	dir := t.TempDir()
	x := retrieval.LogChirp(4000, 8000, 100, 3000)
	s, _ := retrieval.NewSTFT(retrieval.Config{NFFT: 256, Hop: 64}, len(x))
	mag := s.Magnitude(nil, x) // frames × bins
	frames, bins := len(mag)/129, 129
	var f4, f8be []byte
	for _, v := range mag { // frames × bins row-major = bins × frames Fortran order
		f4 = binary.LittleEndian.AppendUint32(f4, math.Float32bits(float32(v)))
	}
	for k := 0; k < bins; k++ { // bins × frames C order
		for m := 0; m < frames; m++ {
			f8be = binary.BigEndian.AppendUint64(f8be, math.Float64bits(float64(float32(mag[m*bins+k]))))
		}
	}
	shape := "(129, " + itoa(frames) + ")"
	var outs [][]float64
	for name, c := range map[string]struct {
		descr   string
		fortran bool
		shape   string
		data    []byte
	}{
		"librosa": {"<f4", true, shape, f4},
		"batched": {"<f4", true, "(1, 129, " + itoa(frames) + ")", f4},
		"C >f8":   {">f8", false, shape, f8be},
	} {
		in := filepath.Join(dir, "m.npy")
		writeNpyShape(t, in, c.descr, c.fortran, c.shape, c.data)
		out := filepath.Join(dir, "out.wav")
		if err := runInvert([]string{in, "--out", out, "--n-fft", "256", "--hop", "64", "--sr", "8000", "--iters", "3", "--length", itoa(len(x))}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, err := wav.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if a.SampleRate != 8000 || a.Len() != len(x) {
			t.Fatalf("%s: %d Hz, %d samples, want 8000 Hz, %d", name, a.SampleRate, a.Len(), len(x))
		}
		outs = append(outs, a.Channels[0])
	}
	for i := range outs[0] {
		if outs[1][i] != outs[0][i] || outs[2][i] != outs[0][i] {
			t.Fatalf("sample %d differs between layouts: %v %v %v", i, outs[0][i], outs[1][i], outs[2][i])
		}
	}
}

// TestInvertHostileNpy holds issue 14's .npy cases: each exits with an input error (status 2)
// naming the file, quickly, and writes nothing.
func TestInvertHostileNpy(t *testing.T) {
	dir := t.TempDir()
	full := make([]byte, 8*257*2000)
	cases := []struct {
		name, descr, shape string
		data               []byte
		args               []string
		want               string
	}{
		{"half", "<f8", "(257, 2000)", full[:len(full)/2], nil, "needs 4112000 data bytes, the file has 2056000"},
		{"8 bytes", "<f8", "(257, 2000)", full[:8], nil, "the file has 8"},
		{"1e8 frames", "<f8", "(257, 100000000)", full[:8], nil, "needs 205600000000 data bytes"},
		{"malformed", "<f8", "(257, 2000", full[:8], nil, "byte 72: shape entry is not a non-negative integer"},
		{"ints", "<i4", "(257, 2)", full[:8*257], nil, `dtype "<i4"`},
		{"3-D", "<f8", "(2, 257, 2)", full[:8*257*4], nil, "shape (2, 257, 2)"},
		{"no frames", "<f8", "(257, 0)", nil, nil, "no frames"},
		{"--sr 0", "<f8", "(257, 2)", full[:8*257*2], []string{"--sr", "0"}, "sample rate 0 Hz outside 1…768000 Hz"},
		{"--sr -1", "<f8", "(257, 2)", full[:8*257*2], []string{"--sr", "-1"}, "sample rate -1 Hz"},
		{"--sr 768001", "<f8", "(257, 2)", full[:8*257*2], []string{"--sr", "768001"}, "sample rate 768001 Hz"},
	}
	for _, c := range cases {
		in := filepath.Join(dir, "h.npy")
		writeNpyShape(t, in, c.descr, false, c.shape, c.data)
		out := filepath.Join(dir, "out.wav")
		alloc := totalAlloc()
		err := runInvert(append([]string{in, "--out", out}, c.args...))
		var ie inputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "h.npy") && !strings.HasPrefix(c.name, "--sr") {
			t.Errorf("%s: error %v, want an input error naming the file and %q", c.name, err, c.want)
		}
		if a := totalAlloc() - alloc; a > 64<<20 {
			t.Errorf("%s: allocated %d MB before failing", c.name, a>>20)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: output written", c.name)
		}
	}
}

// TestInvertWrongBinCountFailsBeforeReading: a (1000, 300000) float64 array (2.4 GB of data,
// here a sparse file) fails on its bin count before any data is read (42 s and 2.4 GB before).
func TestInvertWrongBinCountFailsBeforeReading(t *testing.T) {
	in := filepath.Join(t.TempDir(), "big.npy")
	writeNpyShape(t, in, "<f8", false, "(1000, 300000)", nil)
	if err := os.Truncate(in, 128+8*1000*300000); err != nil {
		t.Skip("no sparse files here:", err)
	}
	alloc := totalAlloc()
	err := runInvert([]string{in, "--n-fft", "512", "--out", filepath.Join(t.TempDir(), "o.wav")}) // without it: n_fft 1998
	var ie inputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "1000 bins (rows), but n_fft gives 257") {
		t.Fatalf("error %v, want the bin-count error", err)
	}
	if a := totalAlloc() - alloc; a > 64<<20 {
		t.Errorf("allocated %d MB, want the error before reading the data (2.4 GB)", a>>20)
	}
}

// totalAlloc returns the bytes the process has allocated so far (runtime.MemStats.TotalAlloc):
// what a parser that reads before validating would give away, measured without a clock.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestHostileStreamsThroughPipes runs the built binary on issue 14's frame-stream and
// sample-rate cases, the stream on stdin through a pipe: each exits with status 2 and a message,
// writes no output file when no valid frame arrived, and keeps the frames before a NaN.
func TestHostileStreamsThroughPipes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rephase")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	header := func(rate, nfft, hop uint32) []byte {
		b := []byte("RPFS\x01\x00\x01\x00")
		for _, v := range []uint32{rate, nfft, hop, nfft, 0, nfft/2 + 1} {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	framesWith := func(n int, at int, bad float32) []byte {
		b := header(16000, 64, 16)
		for j := 0; j < n; j++ {
			for k := 0; k < 33; k++ {
				v := float32(1)
				if j == at && k == 5 {
					v = bad
				}
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
		}
		return b
	}
	frames := func(n int, nanAt int) []byte { return framesWith(n, nanAt, float32(math.NaN())) }
	wavAt := func(rate uint32) string {
		p := filepath.Join(dir, itoa(int(rate))+".wav")
		wav.Write(p, 8000, [][]float64{make([]float64, 4000)}, wav.PCM16)
		b, _ := os.ReadFile(p)
		binary.LittleEndian.PutUint32(b[24:], rate)
		os.WriteFile(p, b, 0o644)
		return p
	}
	npyPath := filepath.Join(dir, "m.npy")
	writeNpyShape(t, npyPath, "<f4", true, "(257, 4)", make([]byte, 4*257*4))
	// What the three frames before a NaN give on their own.
	clean3 := filepath.Join(dir, "clean3.wav")
	c3 := exec.Command(bin, "synth", "--out", clean3)
	c3.Stdin = bytes.NewReader(frames(3, -1))
	if msg, err := c3.CombinedOutput(); err != nil {
		t.Fatalf("three clean frames: %v\n%s", err, msg)
	}
	a3, err := wav.Read(clean3)
	if err != nil {
		t.Fatal(err)
	}
	clean := a3.Len()
	cases := []struct {
		name    string
		args    []string
		stdin   []byte
		want    string
		samples int // of the output WAV; −1: no output file
	}{
		{"header only", []string{"synth"}, header(16000, 64, 16), "no frames", -1},
		{"NaN in frame 0", []string{"synth"}, frames(4, 0), "frame 0, bin 5: magnitude NaN", -1},
		{"NaN in frame 3", []string{"synth"}, frames(5, 3), "frame 3, bin 5: magnitude NaN", clean},
		{"1e31 in frame 3", []string{"synth"}, framesWith(5, 3, 1e31), "frame 3, bin 5: magnitude 1e+31 (want a finite value ≥ 0, at most 1e+30)", clean},
		{"n_fft 2^20, hop 1", []string{"synth"}, header(16000, 1<<20, 1), "overlapping frames", -1},
		{"rate 0xFFFFFFFF", []string{"synth"}, header(0xFFFFFFFF, 64, 16), "sample rate 4294967295 Hz outside 1…768000 Hz", -1},
		{"headerless --sr 0", []string{"synth", "--headerless", "--sr", "0", "--n-fft", "64", "--hop", "16"}, nil, "sample rate 0 Hz", -1},
		{"WAV at 0xFFFFFFFF Hz", []string{"stream", wavAt(0xFFFFFFFF)}, nil, "sample rate 4294967295 Hz", -1},
		{"WAV at 5e8 Hz", []string{"invert", wavAt(500000000)}, nil, "sample rate 500000000 Hz", -1},
		{"npy --sr 0", []string{"invert", npyPath, "--sr", "0"}, nil, "sample rate 0 Hz", -1},
		{"npy --sr -1", []string{"invert", npyPath, "--sr", "-1"}, nil, "sample rate -1 Hz", -1},
	}
	for _, c := range cases {
		out := filepath.Join(dir, "out.wav")
		os.Remove(out)
		cmd := exec.Command(bin, append(c.args, "--out", out)...)
		if c.stdin != nil {
			cmd.Stdin = bytes.NewReader(c.stdin) // a pipe
		}
		msg, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(msg), c.want) || strings.Contains(string(msg), "panic") {
			t.Errorf("%s: %v, want status 2 and %q:\n%s", c.name, err, c.want, msg)
			continue
		}
		a, err := wav.Read(out)
		switch {
		case c.samples < 0 && !errors.Is(err, os.ErrNotExist):
			t.Errorf("%s: an output file was written (%v)", c.name, err)
		case c.samples >= 0 && err != nil:
			t.Errorf("%s: no valid output: %v", c.name, err)
		case c.samples >= 0 && a.Len() != c.samples:
			t.Errorf("%s: %d samples, want %d (the frames before the fault)", c.name, a.Len(), c.samples)
		}
	}
}

// TestResolveMethod: --method names any optimizer of the one vocabulary; the deprecated --method
// gd and --optimizer still work for one release, each with one deprecation line; a contradiction
// or an unknown name is an input error; with neither flag the command's default applies.
func TestResolveMethod(t *testing.T) {
	for _, c := range []struct {
		args      []string
		def, want string
		warns     bool
	}{
		{nil, "", "fgla", false},
		{nil, "lbfgs", "lbfgs", false},
		{[]string{"--method", "GLA"}, "lbfgs", "gla", false},
		{[]string{"--method", "sgdm"}, "", "sgdm", false},
		{[]string{"--method", "gd"}, "", "lbfgs", true},
		{[]string{"--method", "gd", "--optimizer", "adam"}, "", "adam", true},
		{[]string{"--optimizer", "sgdm"}, "lbfgs", "sgdm", true},
		{[]string{"--method", "adam", "--optimizer", "Adam"}, "", "adam", true},
		{[]string{"--method", "fgla", "--optimizer", "adam"}, "", "", false},
		{[]string{"--method", "rmsprop"}, "", "", false},
		{[]string{"--method", "gd", "--optimizer", "gd"}, "", "", true},
	} {
		fs := newFlagSet("invert", "", "")
		method := fs.String("method", "fgla", methodUsage)
		optimizer := fs.String("optimizer", "", optimizerUsage)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		var warn bytes.Buffer
		got, err := resolveMethod(fs, *method, *optimizer, c.def, &warn)
		var ie inputError
		switch {
		case c.want == "" && (err == nil || !errors.As(err, &ie)):
			t.Errorf("%q: %q, %v; want an input error", c.args, got, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("%q: %q, %v; want %q", c.args, got, err, c.want)
		case c.warns != strings.Contains(warn.String(), "deprecated"):
			t.Errorf("%q: warning %q", c.args, warn.String())
		}
	}
}
