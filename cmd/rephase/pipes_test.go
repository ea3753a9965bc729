package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/stream/wav"
)

// TestStdinStdoutThroughPipes (issue 17 item 2): "-" as WAV input and output through real pipes
// between rephase processes: invert reads standard input, stream writes a WAV of unknown length
// to standard output (sizes 0xFFFFFFFF) that the next stream reads to its end, and the reports
// go to stderr, never into the audio.
func TestStdinStdoutThroughPipes(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := writeTestWAV(t, in, 8000, func(i float64) float64 { return 0.5 * math.Sin(2*math.Pi*(300+0.03*i)*i/8000) })
	src, _ := os.ReadFile(in)
	flags := []string{"--n-fft", "256", "--hop", "64"}

	// stdin → invert → file
	out := filepath.Join(dir, "x.wav")
	cmd := exec.Command(bin, append([]string{"invert", "-", "--out", out, "--iters", "10", "--json"}, flags...)...)
	cmd.Stdin = bytes.NewReader(src)
	if b, err := cmd.Output(); err != nil || !strings.Contains(string(b), `"input":"-"`) {
		t.Fatalf("invert -: %v: %s", err, b)
	}
	if a, err := wav.Read(out); err != nil || a.Len() != len(x) {
		t.Fatalf("invert - output: %v", err)
	}

	// file → stream → stdout | stream → stdin → file, through an OS pipe
	first := exec.Command(bin, append([]string{"stream", in, "--out", "-"}, flags...)...)
	second := exec.Command(bin, append([]string{"stream", "-", "--out", filepath.Join(dir, "y.wav"), "--json"}, flags...)...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var firstErr bytes.Buffer
	first.Stdout, first.Stderr, second.Stdin = pw, &firstErr, pr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	rep, err := second.Output()
	pr.Close()
	if werr := first.Wait(); werr != nil || err != nil {
		t.Fatalf("stream --out - | stream -: %v, %v\n%s", werr, err, firstErr.String())
	}
	if !strings.Contains(firstErr.String(), "→ -") {
		t.Errorf("the report of stream --out - is not on stderr: %q", firstErr.String())
	}
	var r map[string]any
	if err := json.Unmarshal(rep, &r); err != nil || r["output_samples"].(float64) != float64(len(x)) {
		t.Fatalf("second stream's report: %v %s", err, rep)
	}

	// stream --out - writes the unknown-length header.
	b, err := exec.Command(bin, append([]string{"stream", in, "--out", "-"}, flags...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "RIFF" || binary.LittleEndian.Uint32(b[4:]) != math.MaxUint32 || string(b[50:54]) != "data" ||
		binary.LittleEndian.Uint32(b[54:]) != math.MaxUint32 || len(b) != 58+4*len(x) {
		t.Errorf("header of a WAV to a pipe: % x (%d bytes)", b[:min(len(b), 58)], len(b))
	}
}

// TestLiveToStdout: live's --output - and --record - write WAVs to standard output that read
// back whole; the report goes to stderr.
func TestLiveToStdout(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := writeTestWAV(t, in, 4000, func(i float64) float64 { return 0.3 * math.Sin(i/5) })
	for _, args := range [][]string{{"--output", "-"}, {"--output", filepath.Join(dir, "o.wav"), "--record", "-"}} {
		b, err := exec.Command(bin, append([]string{"live", "--input", in, "--n-fft", "256", "--hop", "64"}, args...)...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		a, err := wav.Decode(b)
		if err != nil || a.Len() < len(x) {
			t.Errorf("%v: %v (%d bytes)", args, err, len(b))
		}
	}
}

// TestSoxReadsOurWAVs (issue 17 item 4): soxi prints no warning for the float WAVs rephase
// writes (an 18-byte fmt chunk with cbSize 0 and a fact chunk), to a file or to a pipe.
func TestSoxReadsOurWAVs(t *testing.T) {
	soxi, err := exec.LookPath("soxi")
	if err != nil {
		t.Skip("soxi not installed")
	}
	p := filepath.Join(t.TempDir(), "f.wav")
	if err := wav.Write(p, 8000, [][]float64{{0.1, -0.2, 0.3}}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(soxi, p).CombinedOutput()
	if err != nil || strings.Contains(string(b), "WARN") || !strings.Contains(string(b), "3 samples") {
		t.Errorf("soxi: %v\n%s", err, b)
	}
}

// TestPCM16ReportsClipping (issue 17 item 4): --pcm16 counts the clipped samples, --normalize
// brings the peak to −1 dBFS so that none are.
func TestPCM16ReportsClipping(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeTestWAV(t, in, 4000, func(i float64) float64 { return 1.5 * math.Sin(2*math.Pi*440*i/8000) }) // beyond full scale: float WAVs hold it
	run := func(extra ...string) map[string]any {
		args := append([]string{"invert", in, "--out", filepath.Join(dir, "o.wav"), "--pcm16", "--iters", "0",
			"--init", "pghi", "--n-fft", "256", "--hop", "64", "--json"}, extra...)
		var stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		var r map[string]any
		if err != nil || json.Unmarshal(b, &r) != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, b, stderr.String())
		}
		if n := r["clipped_samples"].(float64); (n > 0) != strings.Contains(stderr.String(), "clipped") {
			t.Errorf("%v clipped samples, stderr %q", n, stderr.String())
		}
		return r
	}
	if r := run(); r["clipped_samples"].(float64) < 100 {
		t.Errorf("a 1.5-peak signal in 16-bit PCM: %v clipped samples reported", r["clipped_samples"])
	}
	r := run("--normalize")
	if r["clipped_samples"].(float64) != 0 || math.Abs(r["output_peak"].(float64)-math.Pow(10, -0.05)) > 1e-12 {
		t.Errorf("--normalize: %v clipped, peak %v", r["clipped_samples"], r["output_peak"])
	}
	b, err := exec.Command(bin, "stream", in, "--out", filepath.Join(dir, "s.wav"), "--pcm16", "--n-fft", "256", "--hop", "64", "--json").Output()
	if err != nil || json.Unmarshal(b, &r) != nil || r["clipped_samples"].(float64) < 100 {
		t.Errorf("stream --pcm16: %v %s", err, b)
	}
}

// TestFLACInput (issue 17 item 4): a FLAC file, and FLAC on standard input, are read through
// mewkiz/flac with the samples a 16-bit WAV of the same audio has.
func TestFLACInput(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	in, fl := filepath.Join(dir, "in.wav"), filepath.Join(dir, "in.flac")
	x := make([]float64, 3000)
	for i := range x {
		x[i] = math.Round(16000*math.Sin(float64(i)/7)) / 32768
	}
	if err := wav.Write(in, 16000, [][]float64{x, x}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(sox, in, fl).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, b)
	}
	a, err := readSignal(fl)
	if err != nil || a.SampleRate != 16000 || len(a.Channels) != 2 || a.Len() != len(x) {
		t.Fatalf("FLAC: %v", err)
	}
	for i, v := range x {
		if a.Channels[1][i] != v {
			t.Fatalf("sample %d: %v, want %v", i, a.Channels[1][i], v)
		}
	}
	src, _ := os.ReadFile(fl)
	cmd := exec.Command(bin, "stream", "-", "--out", filepath.Join(dir, "o.wav"), "--n-fft", "256", "--hop", "64", "--json")
	cmd.Stdin = bytes.NewReader(src)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), `"output_samples":3000`) {
		t.Errorf("stream - < in.flac: %v %s", err, b)
	}
}

// TestNpyInfersNFFT (issue 17 item 3): a float32 bins × frames .npy of librosa's default n_fft
// 2048 inverts without --n-fft, and stderr says which n_fft and sample rate were taken.
func TestNpyInfersNFFT(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "m.npy")
	bins, frames := 1025, 9
	data := make([]byte, 4*bins*frames)
	for i := 0; i < bins*frames; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(1+i%7)))
	}
	writeNpyShape(t, in, "<f4", false, "(1025, 9)", data)
	cmd := exec.Command(bin, "invert", in, "--out", filepath.Join(dir, "o.wav"), "--iters", "2", "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	var r map[string]any
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("%v: %s %s", err, b, stderr.String())
	}
	if r["n_fft"].(float64) != 2048 || r["hop_length"].(float64) != 512 || r["sample_rate"].(float64) != 16000 {
		t.Errorf("report: %s", b)
	}
	for _, want := range []string{"n_fft 2048 from its 1025 bins", "writing at 16000 Hz"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
}

// TestAnalyzeNpy (issue 17 item 3): analyze --format npy to standard output writes a float32
// bins × frames array (Fortran order) that invert reads back, inferring n_fft from it.
func TestAnalyzeNpy(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in, m := filepath.Join(dir, "in.wav"), filepath.Join(dir, "m.npy")
	writeTestWAV(t, in, 4000, func(i float64) float64 { return 0.5 * math.Sin(2*math.Pi*440*i/8000) })
	b, err := exec.Command(bin, "analyze", in, "--format", "npy", "--n-fft", "256", "--hop", "64").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b[:128], []byte("'descr': '<f4', 'fortran_order': True, 'shape': (129, 63), }")) {
		t.Fatalf("header %q", b[:128])
	}
	os.WriteFile(m, b, 0o644)
	if b2, err := exec.Command(bin, "analyze", in, "--out", m+"2.npy", "--n-fft", "256", "--hop", "64").Output(); err != nil {
		t.Fatalf("%v %s", err, b2)
	}
	if b2, _ := os.ReadFile(m + "2.npy"); !bytes.Equal(b, b2) {
		t.Error("--out x.npy differs from --format npy to stdout")
	}
	// float64: this checks the .npy plumbing on a pure tone whose spectrum spans 121 dB, where
	// 100 FGLA iterations land anywhere from −16 to −25 dB depending on rounding (float32 gave
	// −16.3 dB here, −24.8 dB on a sox-made sine of the same frequency; see --precision).
	out, err := exec.Command(bin, "invert", m, "--sr", "8000", "--length", "4000", "--out", filepath.Join(dir, "o.wav"), "--json", "--precision", "float64").Output()
	var r map[string]any
	if err != nil || json.Unmarshal(out, &r) != nil || r["n_fft"].(float64) != 256 || r["sc_db"].(float64) > -20 {
		t.Errorf("invert of analyze's .npy: %v %s", err, out)
	}
}

// writeTestWAV writes n samples f(0), f(1), … as a mono 8 kHz float WAV at path and returns them.
func writeTestWAV(t *testing.T, path string, n int, f func(i float64) float64) []float64 {
	t.Helper()
	x := make([]float64, n)
	for i := range x {
		x[i] = f(float64(i))
	}
	if err := wav.Write(path, 8000, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	return x
}
