package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// speechLike is 0.75 s at 16 kHz: a gated harmonic tone with vibrato.
func speechLike() []float64 {
	x := make([]float64, 12000)
	ph := 0.0
	for i := range x {
		t := float64(i) / 16000
		ph += 2 * math.Pi * 140 * (1 + 0.02*math.Sin(2*math.Pi*5*t)) / 16000
		v := 0.0
		for h := 1.0; h <= 10; h++ {
			v += math.Sin(h*ph) / h
		}
		x[i] = 0.3 * v * math.Sin(math.Pi*t/0.75)
	}
	return x
}

func TestStreamWAVAlignedAndReported(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	x := speechLike()
	if err := wav.Write(in, 16000, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	if err := runStream([]string{in, "--out", out, "--json"}); err != nil {
		t.Fatal(err)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != len(x) {
		t.Fatalf("output %d samples, want %d (latency-compensated, same length)", a.Len(), len(x))
	}
	if sc := channelSC(retrieval.Config{NFFT: 512, Hop: 128}, x, a.Channels[0]); sc > -15 {
		t.Errorf("streaming SC %.1f dB; want ≤ −15 dB", sc)
	}
}

// TestAnalyzeSynthThroughARealPipe builds the program and runs
// "rephase analyze in.wav | rephase synth --out out.wav" in a shell, then cuts a stream short and
// checks that synth still writes a valid WAV and exits with status 2.
func TestAnalyzeSynthThroughARealPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rephase")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	x := speechLike()
	wav.Write(in, 16000, [][]float64{x}, wav.PCM16)
	cmd := exec.Command("sh", "-c", bin+" analyze "+in+" | "+bin+" synth --out "+out+" --json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if b, err := cmd.Output(); err != nil || !strings.Contains(string(b), `"latency_ms":56`) {
		t.Fatalf("pipe: %v\n%s%s", err, b, stderr.String())
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() < len(x) {
		t.Fatalf("synth wrote %d samples for a %d-sample input", a.Len(), len(x))
	}
	if sc := channelSC(retrieval.Config{NFFT: 512, Hop: 128}, x, a.Channels[0]); sc > -15 {
		t.Errorf("pipe SC %.1f dB; want ≤ −15 dB", sc)
	}

	// Headerless, raw s16 PCM out on stdout.
	raw, err := exec.Command("sh", "-c", bin+" analyze --headerless "+in+" | "+bin+" synth --headerless --sr 16000 --out - --format s16 2>/dev/null").Output()
	if err != nil || len(raw) != 2*a.Len() {
		t.Fatalf("headerless raw: %v, %d bytes, want %d", err, len(raw), 2*a.Len())
	}

	// A stream cut inside frame 10: a valid WAV of the frames before it, status 2.
	frames, err := exec.Command(bin, "analyze", in).Output()
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.frames")
	os.WriteFile(cut, frames[:32+10*257*4+100], 0o644)
	out2 := filepath.Join(dir, "cut.wav")
	c2 := exec.Command(bin, "synth", "--in", cut, "--out", out2)
	msg, err := c2.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(msg), "inside frame 10") {
		t.Fatalf("cut stream: %v\n%s", err, msg)
	}
	b, err := wav.Read(out2)
	if err != nil {
		t.Fatalf("the WAV of a cut stream is not valid: %v", err)
	}
	if want := 10*128 + 512 - 128 - 768 + 3*128; b.Len() != want {
		t.Errorf("cut stream WAV has %d samples, want %d (10 frames' hops and the flushed tail, latency removed)", b.Len(), want)
	}
}
