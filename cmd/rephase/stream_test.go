package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/framestream"
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
	if sc := retrieval.STFTSpectralConvergenceDB(retrieval.Config{NFFT: 512, Hop: 128}, x, a.Channels[0]); sc > -15 {
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
	if a.Len() != len(x) {
		t.Fatalf("synth wrote %d samples for a %d-sample input (the header carries the length)", a.Len(), len(x))
	}
	if sc := retrieval.STFTSpectralConvergenceDB(retrieval.Config{NFFT: 512, Hop: 128}, x, a.Channels[0]); sc > -15 {
		t.Errorf("pipe SC %.1f dB; want ≤ −15 dB", sc)
	}

	// Headerless, raw s16 PCM out on stdout.
	raw, err := exec.Command("sh", "-c", bin+" analyze --headerless "+in+" | "+bin+" synth --headerless --sr 16000 --out - --format s16 2>/dev/null").Output()
	if err != nil || len(raw) < 2*len(x) { // no length in the stream: up to the end of the last frame
		t.Fatalf("headerless raw: %v, %d bytes, want at least %d", err, len(raw), 2*len(x))
	}

	// A stream cut inside frame 10: a valid WAV of the frames before it, status 2.
	frames, err := exec.Command(bin, "analyze", in).Output()
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.frames")
	os.WriteFile(cut, frames[:framestream.HeaderSize+10*257*4+100], 0o644)
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

// TestSynthCenterFramedMagnitudes feeds synth the magnitudes torch.stft(center=True) and librosa
// compute (frame m centred on sample m·hop, reflect padding, periodic Hann) in a frame stream whose
// header says so (and carries the length), and once headerless with --center. The output must
// be aligned with the signal (SC ≤ −25 dB at lag 0, better than one hop either side) and exactly
// as long as it.
func TestSynthCenterFramedMagnitudes(t *testing.T) {
	dir := t.TempDir()
	x := speechLike()
	cfg := retrieval.Config{NFFT: 512, Hop: 128, Framing: retrieval.Center, Pad: retrieval.Reflect}
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mag := s.Magnitude(nil, x)
	write := func(name string, h framestream.Header, headerless bool) string {
		var b bytes.Buffer
		w, err := framestream.NewWriter(&b, h, fsHeaderMode(headerless))
		if err != nil {
			t.Fatal(err)
		}
		for m := range s.Frames() {
			if err := w.WriteFrame(mag[m*s.Bins() : (m+1)*s.Bins()]); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	h := framestream.Header{SampleRate: 16000, NFFT: 512, Hop: 128, WinLength: 512, Center: true, Length: int64(len(x))}
	for _, c := range []struct {
		name string
		args []string
		n    int // output length
	}{
		{"header", []string{"--in", write("center.frames", h, false)}, len(x)},
		{"headerless", []string{"--in", write("center.raw", h, true), "--headerless", "--sr", "16000", "--center"}, (s.Frames()-1)*128 + 256},
	} {
		out := filepath.Join(dir, c.name+".wav")
		if err := runSynth(append(c.args, "--out", out, "--json")); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a, err := wav.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		y := a.Channels[0]
		if len(y) != c.n {
			t.Errorf("%s: %d samples, want %d", c.name, len(y), c.n)
		}
		y = append(y, make([]float64, max(0, len(x)+128-len(y)))...)
		lag := func(d int) float64 { // SC of y delayed by d samples against x
			z := make([]float64, len(x))
			for i := range z {
				if j := i - d; j >= 0 {
					z[i] = y[j]
				}
			}
			return retrieval.STFTSpectralConvergenceDB(retrieval.Config{NFFT: 512, Hop: 128}, x, z)
		}
		sc0, early, late := lag(0), lag(-128), lag(128)
		t.Logf("%s: SC %.1f dB at lag 0, %.1f dB at −1 hop, %.1f dB at +1 hop", c.name, sc0, early, late)
		if sc0 > -25 || sc0 > early || sc0 > late {
			t.Errorf("%s: SC %.1f dB at lag 0 (−1 hop %.1f, +1 hop %.1f); want ≤ −25 dB and the best", c.name, sc0, early, late)
		}
	}
}

// TestRealtimeWithoutCompensationMatchesFileMode: paced through the rings with --no-compensate,
// the output keeps the latency's leading zeros and the whole signal after them, byte for byte
// the file-mode output (it used to stop at the input's length, dropping the last FileDelay
// samples).
func TestRealtimeWithoutCompensationMatchesFileMode(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	if err := wav.Write(in, 16000, [][]float64{speechLike()[:6034]}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	var outs [2][]byte
	for i, extra := range [][]string{nil, {"--realtime"}} {
		out := filepath.Join(dir, fmt.Sprintf("out%d.wav", i))
		if err := runStream(append([]string{in, "--out", out, "--no-compensate", "--iters-per-hop", "8", "--json"}, extra...)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = b
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("--realtime --no-compensate wrote %d bytes, file mode %d: not the same output", len(outs[1]), len(outs[0]))
	}
}

// stdoutOf runs f with os.Stdout redirected and returns what it printed.
func stdoutOf(t *testing.T, f func() error) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	err = f()
	os.Stdout = saved
	w.Close()
	b := <-got
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStreamSeveralInputs (issue 19, item 4): two mono WAVs of different lengths and a stereo
// WAV go through one pool into DIR/NAME.wav, each output bit for bit what `stream` writes for its
// input alone, as long as its input, with its channel count; the JSON has one entry per stream
// and the pool's rounds; --channels mix makes one mono stream of the stereo file; inputs of
// different sample rates are an input error naming both.
func TestStreamSeveralInputs(t *testing.T) {
	dir := t.TempDir()
	x := speechLike()
	y := make([]float64, 5000)
	for i := range y {
		y[i] = 0.5 * x[len(x)-1-i]
	}
	ins := map[string][][]float64{"a": {x}, "b": {y}, "st": {x[2000:10000], x[:8000]}}
	var paths []string
	for _, name := range []string{"a", "b", "st"} {
		p := filepath.Join(dir, name+".wav")
		if err := wav.Write(p, 16000, ins[name], wav.Float32); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	flags := []string{"--iters-per-hop", "8", "--json"}
	outDir := filepath.Join(dir, "out")
	js := stdoutOf(t, func() error { return runStream(append(append(slices.Clone(paths), "--out", outDir), flags...)) })
	var rep struct {
		Streams []struct {
			Input, Output string
			Channel       int
			OutputSamples int64 `json:"output_samples"`
			Frames        int64
		}
		Pool struct {
			Workers, Streams int
			Rounds           int64
		}
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if len(rep.Streams) != 4 || rep.Pool.Streams != 4 || rep.Pool.Workers < 1 || rep.Pool.Rounds < rep.Streams[0].Frames {
		t.Fatalf("report %s", js)
	}
	k := 0
	for i, name := range []string{"a", "b", "st"} {
		got, err := wav.Read(filepath.Join(outDir, name+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		alone := filepath.Join(dir, name+"-alone.wav")
		stdoutOf(t, func() error { return runStream(append([]string{paths[i], "--out", alone}, flags...)) })
		want, err := wav.Read(alone)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Channels) != len(ins[name]) || got.Len() != len(ins[name][0]) {
			t.Fatalf("%s: %d channels of %d samples, want %d of %d", name, len(got.Channels), got.Len(), len(ins[name]), len(ins[name][0]))
		}
		for c := range want.Channels {
			if !slices.Equal(got.Channels[c], want.Channels[c]) {
				t.Errorf("%s, channel %d: differs from the input run alone", name, c)
			}
			if e := rep.Streams[k]; e.Input != paths[i] || e.Channel != c || e.OutputSamples != int64(got.Len()) {
				t.Errorf("entry %d: %+v, want %s channel %d, %d samples", k, e, paths[i], c, got.Len())
			}
			k++
		}
	}
	// --channels mix: one engine for the stereo file's mean, a mono output.
	mixed := filepath.Join(dir, "mixed.wav")
	stdoutOf(t, func() error {
		return runStream([]string{paths[2], "--out", mixed, "--channels", "mix", "--iters-per-hop", "8"})
	})
	if m, err := wav.Read(mixed); err != nil || len(m.Channels) != 1 || m.Len() != 8000 {
		t.Fatalf("--channels mix: %v, want one channel of 8000 samples", err)
	}
	// Another sample rate.
	other := filepath.Join(dir, "other.wav")
	if err := wav.Write(other, 22050, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	err := runStream([]string{paths[0], other, "--out", filepath.Join(dir, "out2")})
	var ie inputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), paths[0]) {
		t.Errorf("two sample rates: %v, want an input error naming both files", err)
	}
}
