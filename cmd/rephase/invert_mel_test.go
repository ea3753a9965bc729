package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/npy"
	"github.com/rephase/rephase/stream/wav"
)

// writeNpyFloat32 writes a C-order little-endian float32 .npy of the given shape.
func writeNpyFloat32(t *testing.T, path string, shape []int, data []float64) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	hdr := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", sh)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	for _, v := range data {
		binary.Write(&b, binary.LittleEndian, float32(v))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// torchaudioMel is an independent reference of torchaudio.transforms.MelSpectrogram(
// sample_rate=22050, n_fft=1024, hop_length=256, f_min=0, f_max=8000, n_mels=80, power=1,
// norm="slaney", mel_scale="slaney") (center=True, reflect padding, periodic Hann): a direct DFT of
// every frame, then the filterbank torchaudio itself wrote (retrieval/testdata/mel_hifigan.npy),
// in torchaudio's (1, n_mels, frames) layout.
func torchaudioMel(t *testing.T, x []float64) ([]float64, int) {
	t.Helper()
	const n, hop, nMels = 1024, 256, 80
	h, fb, err := npy.ReadFile(filepath.Join("..", "..", "retrieval", "testdata", "mel_hifigan.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if r, c, _ := h.Matrix(); r != nMels || c != n/2+1 {
		t.Fatalf("filterbank fixture shape %v", h.Shape)
	}
	padded := make([]float64, len(x)+n)
	for i := range padded {
		j := i - n/2
		if j < 0 {
			j = -j
		}
		if j >= len(x) {
			j = 2*(len(x)-1) - j
		}
		padded[i] = x[j]
	}
	frames := 1 + len(x)/hop
	bins := n/2 + 1
	mel := make([]float64, nMels*frames)
	mag := make([]float64, bins)
	cos, sin, frame := make([]float64, n), make([]float64, n), make([]float64, n)
	for j := range cos {
		sin[j], cos[j] = math.Sincos(2 * math.Pi * float64(j) / n)
	}
	for m := 0; m < frames; m++ {
		for j := range frame {
			frame[j] = (0.5 - 0.5*cos[j]) * padded[m*hop+j] // periodic Hann
		}
		for k := 0; k < bins; k++ {
			var re, im float64
			for j, v := range frame {
				re += v * cos[k*j%n]
				im -= v * sin[k*j%n]
			}
			mag[k] = math.Hypot(re, im)
		}
		for i := 0; i < nMels; i++ {
			var acc float64
			for k := 0; k < bins; k++ {
				acc += fb[i*bins+k] * mag[k]
			}
			mel[i*frames+m] = acc
		}
	}
	return mel, frames
}

// TestInvertMelTorchaudioLayout feeds a float32 (1, 80, T) array shaped like torchaudio's
// MelSpectrogram output, stored as HiFi-GAN's log-mel (ln with clamp 1e-5), to the CLI with
// --preset hifigan and checks the output's mel spectrogram against it.
func TestInvertMelTorchaudioLayout(t *testing.T) {
	const sr = 22050
	x := make([]float64, 6400)
	for i := range x {
		tt := float64(i) / sr
		f0 := 140 + 20*math.Sin(2*math.Pi*3*tt)
		for h := 1; h <= 12; h++ {
			x[i] += 0.3 / float64(h) * math.Sin(2*math.Pi*f0*float64(h)*tt+float64(h))
		}
		x[i] *= math.Sin(math.Pi * float64(i) / float64(len(x)))
	}
	mel, frames := torchaudioMel(t, x)
	logMel := make([]float64, len(mel))
	for i, v := range mel {
		logMel[i] = math.Log(math.Max(v, 1e-5))
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mel.npy"), filepath.Join(dir, "out.wav")
	writeNpyFloat32(t, in, []int{1, 80, frames}, logMel)
	// The mel path validates the shared numeric flags like the STFT path (exit status 2).
	for _, bad := range [][]string{{"--tol", "NaN"}, {"--alpha", "2"}, {"--iters", "-1"}, {"--lr", "Inf"}} {
		err := runInvert(append([]string{in, "--preset", "hifigan", "--out", out}, bad...))
		if !errors.As(err, new(inputError)) {
			t.Errorf("mel %v: %v, want an input error", bad, err)
		}
	}
	if err := runInvert([]string{in, "--preset", "hifigan", "--mel-start", "cepstrum", "--out", out}); err == nil || !strings.Contains(err.Error(), `unknown mel start "cepstrum"`) {
		t.Errorf("--mel-start cepstrum: %v, want the unknown start named", err)
	}
	// --mel-start on a linear spectrogram (no --n-mels, no preset) is refused, not ignored.
	if err := runInvert([]string{in, "--mel-start", "ls", "--sr", "22050", "--out", out}); !errors.As(err, new(inputError)) || !strings.Contains(err.Error(), "--mel-start needs a mel input") {
		t.Errorf("--mel-start on a linear input: %v, want an input error", err)
	}
	if err := runInvert([]string{in, "--mel-anchor", "0.1", "--sr", "22050", "--out", out}); !errors.As(err, new(inputError)) || !strings.Contains(err.Error(), "--mel-anchor needs a mel input") {
		t.Errorf("--mel-anchor on a linear input: %v, want an input error", err)
	}
	for _, bad := range []string{"-0.1", "NaN", "Inf", "2e6"} {
		if err := runInvert([]string{in, "--preset", "hifigan", "--mel-anchor", bad, "--out", out}); !errors.As(err, new(inputError)) || !strings.Contains(err.Error(), "--mel-anchor") {
			t.Errorf("--mel-anchor %s: %v, want an input error", bad, err)
		}
	}
	// An ln value whose magnitude overflows (e^800 = +Inf) is refused with its place, not turned
	// into a NaN output.
	hot := append([]float64(nil), logMel...)
	hot[10*frames+3] = 800
	hotIn := filepath.Join(dir, "hot.npy")
	writeNpyFloat32(t, hotIn, []int{1, 80, frames}, hot)
	if err := runInvert([]string{hotIn, "--preset", "hifigan", "--out", out}); !errors.As(err, new(inputError)) || !strings.Contains(err.Error(), "hot.npy: magnitude at frame 3, bin 10 is 800: +Inf as a linear magnitude") {
		t.Errorf("ln 800: %v, want an input error naming frame 3, band 10", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an output was written by a refused run")
	}
	// ln 69, just below the ceiling (ln 1e30 ≈ 69.08), is accepted although the Slaney-normalised
	// band spreads it to bins above 1e30 (the start's estimates are clipped to the ceiling).
	hot[10*frames+3] = 69
	writeNpyFloat32(t, hotIn, []int{1, 80, frames}, hot)
	if err := runInvert([]string{hotIn, "--preset", "hifigan", "--iters", "5", "--out", out}); err != nil {
		t.Errorf("ln 69: %v", err)
	}
	os.Remove(out)
	// A log-domain fit has no anchor by default; asked for, it has one.
	for _, c := range []struct {
		extra  []string
		anchor float64
	}{{nil, 0}, {[]string{"--mel-anchor", "0.05"}, 0.05}} {
		var res struct {
			MelAnchor float64 `json:"mel_anchor"`
		}
		js := stdoutOf(t, func() error {
			return runInvert(append([]string{in, "--preset", "hifigan", "--fit", "stored", "--iters", "3", "--json", "--out", out}, c.extra...))
		})
		if err := json.Unmarshal(js, &res); err != nil || res.MelAnchor != c.anchor {
			t.Errorf("--fit stored %v: JSON mel_anchor %g (%v), want %g", c.extra, res.MelAnchor, err, c.anchor)
		}
	}
	os.Remove(out)
	// The default (harmonic) start and --mel-start ls, and the anchor's default and 0 (none),
	// each named in the JSON.
	for _, c := range []struct {
		extra  []string
		start  string
		anchor float64
	}{{nil, "harmonic", retrieval.DefaultMelAnchor}, {[]string{"--mel-start", "ls"}, "ls", retrieval.DefaultMelAnchor},
		{[]string{"--mel-anchor", "0"}, "harmonic", 0}} {
		extra := c.extra
		var res struct {
			MelStart  string  `json:"mel_start"`
			MelAnchor float64 `json:"mel_anchor"`
		}
		js := stdoutOf(t, func() error {
			return runInvert(append([]string{in, "--preset", "hifigan", "--iters", "60", "--json", "--out", out}, extra...))
		})
		if err := json.Unmarshal(js, &res); err != nil || res.MelStart != c.start || res.MelAnchor != c.anchor {
			t.Fatalf("%v: JSON mel_start %q, mel_anchor %g (%v), want %q, %g", extra, res.MelStart, res.MelAnchor, err, c.start, c.anchor)
		}
		a, err := wav.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if a.SampleRate != sr || a.Len() != (frames-1)*256 {
			t.Fatalf("output %d Hz, %d samples; want %d Hz, %d", a.SampleRate, a.Len(), sr, (frames-1)*256)
		}
		y, _ := torchaudioMel(t, a.Channels[0])
		if db := retrieval.DB(retrieval.SpectralConvergence(y, mel)); db > -25 {
			t.Errorf("%v: mel spectral convergence of the output %.1f dB > −25 dB", extra, db)
		} else {
			t.Logf("%v: mel spectral convergence %.1f dB", extra, db)
		}
	}
}

// TestInvertLinearPowerAndLog: a linear power spectrogram in dB inverts with --power 2 --log db
// as its magnitude does; a linear log spectrogram without --log is refused with a hint.
func TestInvertLinearPowerAndLog(t *testing.T) {
	x := retrieval.LogChirp(4096, 8000, 100, 3000)
	s, _ := retrieval.NewSTFT(retrieval.Config{NFFT: 256, Hop: 64}, len(x))
	mag := s.Magnitude(nil, x)
	frames, bins := s.Frames(), s.Bins()
	db := make([]float64, len(mag)) // bins × frames, C order
	for m := 0; m < frames; m++ {
		for k := 0; k < bins; k++ {
			db[k*frames+m] = 10 * math.Log10(math.Max(mag[m*bins+k]*mag[m*bins+k], 1e-10))
		}
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "db.npy"), filepath.Join(dir, "out.wav")
	writeNpyFloat32(t, in, []int{bins, frames}, db)
	if err := runInvert([]string{in, "--sr", "8000", "--n-fft", "256", "--hop", "64", "--power", "2", "--log", "db",
		"--iters", "100", "--out", out}); err != nil {
		t.Fatal(err)
	}
	a, err := wav.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if sc := retrieval.DB(retrieval.SpectralConvergence(s.Magnitude(nil, a.Channels[0]), mag)); sc > -20 {
		t.Errorf("spectral convergence %.1f dB > −20 dB", sc)
	}
	err = runInvert([]string{in, "--sr", "8000", "--n-fft", "256", "--hop", "64", "--out", out})
	if err == nil || !strings.Contains(err.Error(), "--log") {
		t.Errorf("log spectrogram without --log: %v", err)
	}
	err = runInvert([]string{in, "--sr", "8000", "--n-fft", "512", "--hop", "64", "--out", out})
	if err == nil || !strings.Contains(err.Error(), "--n-mels") {
		t.Errorf("wrong row count: %v", err)
	}
}

func TestMelInvocation(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"a.npy", "--n-mels", "80"}, true},
		{[]string{"a.npy", "--preset=hifigan"}, true},
		{[]string{"-log", "db", "a.npy"}, true},
		{[]string{"a.wav", "--out", "x.wav", "--n-fft", "512"}, false},
		{[]string{"--", "--power"}, false},
	} {
		if got := melInvocation(c.args); got != c.want {
			t.Errorf("melInvocation(%q) = %v", c.args, got)
		}
	}
}

func TestWarnLinearScale(t *testing.T) {
	x := make([]float64, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = math.Sin(2*math.Pi*440*float64(i)/8000) + 1e-3*rng.NormFloat64() // 60 dB SNR
	}
	s, _ := retrieval.NewSTFT(retrieval.Config{NFFT: 256, Hop: 64}, len(x))
	mag := s.Magnitude(nil, x)
	var b bytes.Buffer
	warnLinearScale(&b, "m.npy", mag)
	if b.Len() != 0 {
		t.Errorf("magnitude warned: %s", b.String())
	}
	pow := make([]float64, len(mag))
	for i, v := range mag {
		pow[i] = v * v
	}
	warnLinearScale(&b, "p.npy", pow)
	if !strings.Contains(b.String(), "--power 2") {
		t.Errorf("power not warned: %q", b.String())
	}
}
