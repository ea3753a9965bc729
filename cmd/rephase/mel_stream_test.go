package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/framestream"
	"github.com/rephase/rephase/stream/npy"
	"github.com/rephase/rephase/stream/wav"
)

// TestMelStreamThroughPipes (issue 15 item 4): `analyze --n-mels` writes a version 3 frame
// stream of HiFi-GAN-style log-mel frames through a real pipe into `synth`, which resynthesises
// them with the mel engine: the output has the input's length and its mel spectrogram is within
// −25 dB (mel SC, center framing) of the input's; `analyze --n-mels --out X.npy` writes the same
// bands as an n_mels × frames .npy; `stream --n-mels` runs the mel bottleneck. --mel-start ls
// (synth, stream) picks the least-squares warm start, another output than the default harmonic
// one; --mel-start without mel frames is refused.
func TestMelStreamThroughPipes(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	const rate = 22050
	// A harmonic tone with vibrato and a gliding partial, gated: 1 s.
	x := make([]float64, rate)
	for i := range x {
		tt := float64(i) / rate
		f0 := 180 * (1 + 0.02*math.Sin(2*math.Pi*5*tt))
		for h := 1.0; h <= 8; h++ {
			x[i] += math.Sin(2*math.Pi*h*f0*tt) / h
		}
		x[i] *= 0.3 * math.Sin(math.Pi*tt) * math.Sin(math.Pi*tt)
	}
	if err := wav.Write(in, rate, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	mel := []string{"--n-fft", "1024", "--hop", "256", "--n-mels", "80", "--f-max", "8000", "--log", "ln"}
	an := exec.Command(bin, append([]string{"analyze", in}, mel...)...)
	out := filepath.Join(dir, "out.wav")
	syn := exec.Command(bin, "synth", "--out", out, "--iters-per-hop", "16", "--json")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var anErr bytes.Buffer
	an.Stdout, an.Stderr, syn.Stdin = pw, &anErr, pr
	if err := an.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	rep, err := syn.Output()
	pr.Close()
	if werr := an.Wait(); werr != nil || err != nil {
		t.Fatalf("analyze --n-mels | synth: %v, %v\n%s", werr, err, anErr.String())
	}
	var r struct {
		Optimizer string   `json:"optimizer"`
		NMels     int      `json:"n_mels"`
		MelStart  string   `json:"mel_start"`
		MelAnchor *float64 `json:"mel_anchor"`
	}
	if err := json.Unmarshal(rep, &r); err != nil || r.Optimizer != "lbfgs" || r.NMels != 80 || r.MelStart != "harmonic" || r.MelAnchor == nil || *r.MelAnchor != retrieval.DefaultMelAnchor {
		t.Errorf("synth report %s: %v (want optimizer lbfgs, n_mels 80, mel_start harmonic and mel_anchor %g for HiFi-GAN's mel frames)", rep, err, retrieval.DefaultMelAnchor)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	y := a.Channels[0]
	if len(y) != len(x) {
		t.Fatalf("output has %d samples, input %d", len(y), len(x))
	}
	fb, err := retrieval.NewMel(retrieval.MelConfig{SampleRate: rate, NFFT: 1024, NMels: 80, FMax: 8000})
	if err != nil {
		t.Fatal(err)
	}
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 1024, Hop: 256, Framing: retrieval.Center, Pad: retrieval.Reflect}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc := retrieval.DB(retrieval.SpectralConvergence(fb.Apply(nil, s.Magnitude(nil, y)), fb.Apply(nil, s.Magnitude(nil, x))))
	t.Logf("mel SC of analyze --n-mels | synth: %.1f dB", sc)
	if sc > -25 {
		t.Errorf("mel SC %.1f dB, want ≤ −25 dB", sc)
	}

	// The stream's header describes the filterbank.
	b, err := exec.Command(bin, append([]string{"analyze", in}, mel...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var h framestream.Header
	if err := h.UnmarshalBinary(b[:framestream.HeaderSizeMel]); err != nil || h.Mel == nil || h.Mel.NMels != 80 || h.Mel.FMax != 8000 ||
		h.MelLoss.Log != retrieval.LogLn || binary.LittleEndian.Uint16(b[4:]) != framestream.VersionMel {
		t.Fatalf("mel stream header: %+v (mel %+v): %v", h, h.Mel, err)
	}

	// .npy: n_mels × frames, ln of Φ·|X| with librosa's framing (center, zero padding).
	np := filepath.Join(dir, "mel.npy")
	if b, err := exec.Command(bin, append([]string{"analyze", in, "--out", np}, mel...)...).CombinedOutput(); err != nil {
		t.Fatalf("analyze --out mel.npy: %v: %s", err, b)
	}
	nh, _, err := npy.ReadFile(np)
	if err != nil {
		t.Fatal(err)
	}
	if frames := len(x)/256 + 1; len(nh.Shape) != 2 || nh.Shape[0] != 80 || nh.Shape[1] != frames {
		t.Fatalf(".npy shape %v, want [80 %d]", nh.Shape, frames)
	}

	// The mel bottleneck of stream, with either warm start.
	var outs [2][]byte
	for i, start := range []string{"harmonic", "ls"} {
		o := filepath.Join(dir, "b-"+start+".wav")
		b, err := exec.Command(bin, append([]string{"stream", in, "--out", o, "--iters-per-hop", "4", "--json", "--mel-start", start}, mel[:8]...)...).Output()
		if err != nil {
			t.Fatalf("stream --n-mels --mel-start %s: %v: %s", start, err, b)
		}
		var r struct {
			NMels    int    `json:"n_mels"`
			MelStart string `json:"mel_start"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.NMels != 80 || r.MelStart != start {
			t.Errorf("stream --n-mels 80 --mel-start %s: report %s (%v)", start, b, err)
		}
		if outs[i], err = os.ReadFile(o); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(outs[0], outs[1]) {
		t.Error("stream --mel-start harmonic and ls wrote the same output")
	}
	// synth --mel-start ls on the mel stream; --mel-start refused without mel frames.
	ms := filepath.Join(dir, "mel.rfs")
	lin := filepath.Join(dir, "lin.rfs")
	for _, c := range [][]string{append([]string{"analyze", in, "--out", ms}, mel...), {"analyze", in, "--n-fft", "1024", "--hop", "256", "--out", lin}} {
		if b, err := exec.Command(bin, c...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, b)
		}
	}
	if b, err := exec.Command(bin, "synth", "--in", ms, "--out", filepath.Join(dir, "s.wav"), "--mel-start", "ls").CombinedOutput(); err != nil {
		t.Errorf("synth --mel-start ls on mel frames: %v: %s", err, b)
	}
	for _, c := range [][]string{
		{"synth", "--in", lin, "--out", filepath.Join(dir, "s2.wav"), "--mel-start", "ls"},
		{"stream", in, "--out", filepath.Join(dir, "s3.wav"), "--mel-start", "ls"},
	} {
		if b, err := exec.Command(bin, c...).CombinedOutput(); err == nil || !bytes.Contains(b, []byte("--mel-start needs mel frames")) {
			t.Errorf("%v without mel frames: %v: %s", c, err, b)
		}
	}

	// --mel-anchor 0 (none) writes another output than the default anchor, 0.1 another still, on
	// stream and synth; it is refused (exit status 2, naming the flag) when negative, NaN or
	// infinite, and without mel frames on synth, stream and live.
	var anch [3][]byte
	for i, w := range []string{"", "0", "0.1"} {
		o := filepath.Join(dir, "a"+w+".wav")
		args := append([]string{"stream", in, "--out", o, "--iters-per-hop", "4"}, mel[:8]...)
		if w != "" {
			args = append(args, "--mel-anchor", w)
		}
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, b)
		}
		if anch[i], err = os.ReadFile(o); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(anch[0], anch[1]) || bytes.Equal(anch[0], anch[2]) || bytes.Equal(anch[1], anch[2]) {
		t.Error("stream --n-mels with the default anchor, --mel-anchor 0 and 0.1: two outputs are the same")
	}
	s0, s1 := filepath.Join(dir, "sa0.wav"), filepath.Join(dir, "sa.wav")
	for _, c := range [][]string{{"synth", "--in", ms, "--out", s0, "--mel-anchor", "0"}, {"synth", "--in", ms, "--out", s1}} {
		if b, err := exec.Command(bin, c...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, b)
		}
	}
	if b0, b1 := readFile(t, s0), readFile(t, s1); bytes.Equal(b0, b1) {
		t.Error("synth --mel-anchor 0 wrote the default anchor's output")
	}
	for _, c := range [][]string{
		{"synth", "--in", ms, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "-0.1"},
		{"synth", "--in", ms, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "NaN"},
		append([]string{"stream", in, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "+Inf"}, mel[:8]...),
		append([]string{"stream", in, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "1e308"}, mel[:8]...), // w·λ overflowed in Push
		append([]string{"live", "-i", in, "--out", filepath.Join(dir, "x.wav"), "--quiet", "--mel-anchor", "-1"}, mel[:8]...),
		{"synth", "--in", lin, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "0.1"},
		{"stream", in, "--out", filepath.Join(dir, "x.wav"), "--mel-anchor", "0.1"},
		{"live", "-i", in, "--out", filepath.Join(dir, "x.wav"), "--quiet", "--mel-anchor", "0.1"},
	} {
		b, err := exec.Command(bin, c...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !bytes.Contains(b, []byte("--mel-anchor")) {
			t.Errorf("%v: %v: %s (want exit status 2 naming --mel-anchor)", c, err, b)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
