package benchmarks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rephase/rephase/internal/enum"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// SpeechText is the sentence spoken by Speech.
const SpeechText = "I saw the sheep near the river bank"

// Chirp returns MATLAB's exponential-chirp example: the exponential chirp from 1 Hz to 1024 Hz over 2048 samples at
// fs = 2048 Hz, plus 1 (MATLAB's example of signal recovery from differentiable spectrograms).
func Chirp() []float64 {
	x := retrieval.LogChirp(2048, 2048, 1, 1024)
	for i := range x {
		x[i]++
	}
	return x
}

// Speech synthesises SpeechText with Debian's espeak-ng, resamples it to rate Hz, 16-bit, with
// sox, and returns the first seconds of it (all of it for seconds ≤ 0; about 2.5 s). It needs the
// espeak-ng and sox programs (scripts/setup.sh installs them) and returns an error naming the one
// that is missing or failed.
func Speech(rate int, seconds float64) ([]float64, error) {
	dir, err := os.MkdirTemp("", "rephase-speech")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	raw, out := filepath.Join(dir, "espeak.wav"), filepath.Join(dir, "speech.wav")
	if b, err := exec.Command("espeak-ng", "-w", raw, SpeechText).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("espeak-ng: %v: %s", err, b)
	}
	if b, err := exec.Command("sox", "-D", raw, "-r", fmt.Sprint(rate), "-b", "16", out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sox: %v: %s", err, b)
	}
	a, err := wav.Read(out)
	if err != nil {
		return nil, err
	}
	x := a.Channels[0]
	if n := int(seconds * float64(rate)); seconds > 0 && n < len(x) {
		x = x[:n]
	}
	return x, nil
}

// ReadSpeechFile is a recording of read English speech (a male voice, about 5.2 s at 16 kHz)
// from the LibriSpeech corpus (V. Panayotov, G. Chen, D. Povey and S. Khudanpur 2015,
// "LibriSpeech: an ASR corpus based on public domain audio books", ICASSP; CC BY 4.0). It ships
// as test data in the Go module github.com/mewkiz/flac, a dependency of rephase's FLAC input, so
// it is on disk wherever the module cache holds that module: nothing is downloaded for it.
const ReadSpeechFile = "testdata/8297-275156-0011.flac"

// ReadSpeech returns seconds of ReadSpeechFile from start seconds on (all of the rest for seconds
// ≤ 0), resampled to rate Hz, 16-bit, with sox. It finds the file through `go list -m`, so it
// needs the go command and the module in the module cache (`go mod download` puts it there), and
// sox with FLAC support; it returns an error naming what is missing.
func ReadSpeech(rate int, start, seconds float64) ([]float64, error) {
	b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/mewkiz/flac").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m github.com/mewkiz/flac: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(b)), ReadSpeechFile)
	dir, err := os.MkdirTemp("", "rephase-readspeech")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "speech.wav")
	if b, err := exec.Command("sox", "-D", src, "-r", fmt.Sprint(rate), "-b", "16", out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sox %s: %v: %s", src, err, b)
	}
	a, err := wav.Read(out)
	if err != nil {
		return nil, err
	}
	x := a.Channels[0]
	i0 := min(len(x), int(start*float64(rate)))
	x = x[i0:]
	if n := int(seconds * float64(rate)); seconds > 0 && n < len(x) {
		x = x[:n]
	}
	return x, nil
}

// Drums says whether Music plays a drum track.
type Drums int

const (
	// NoDrums is melody, bass and chords alone ("tonal music"). The zero value.
	NoDrums Drums = iota
	// WithDrums adds the kick drum and hi-hats.
	WithDrums
)

var drumsNames = [...]string{"no-drums", "drums"}

// String returns "no-drums" or "drums", or "unknown(N)".
func (d Drums) String() string { return enum.Name(drumsNames[:], int(d)) }

// MarshalText implements encoding.TextMarshaler.
func (d Drums) MarshalText() ([]byte, error) {
	return enum.Marshal(drumsNames[:], int(d), "benchmarks", "drums")
}

// UnmarshalText implements encoding.TextUnmarshaler ("no-drums" or "drums", any case).
func (d *Drums) UnmarshalText(b []byte) error {
	return enum.Unmarshal(d, drumsNames[:], b, "benchmarks", "drums")
}

// Music synthesises a few seconds of music at rate Hz (seconds ≤ 0: 3 s), deterministic: a
// plucked melody over a bass line and sustained chords (additive partials with 1/k amplitudes,
// slight inharmonicity, exponential decays and a 5 Hz vibrato on the chords) at 120 beats per
// minute and, WithDrums, a kick drum (a sine swept from 150 Hz to 50 Hz) on every beat and
// seeded noise hi-hats on the off-beats; peak-normalised to 0.8. It has what speech lacks:
// sustained harmonics, chords, sharp onsets and (with drums) broadband transients and a
// sub-bass sweep that a 32 ms frame sees less than two periods of.
//
// The music starts after and ends before MusicSilence seconds of silence, as a recording does.
// A clip cut mid-note at its first sample measures the reflect-padded edge frames of the
// center=True metric (retrieval.STFTSpectralConvergenceDB), not the reconstruction: the STFT
// magnitudes of well-separated stationary partials do not fix each partial's phase, and the
// mirror image at sample 0 turns those free phases into magnitude errors. Cut at sample 0, the
// first two metric frames held all but a fraction of a dB of the error of 2 s of music with
// drums (−2 and −17 dB per frame against −40 to −70 dB inside), so every method measured
// about −20 dB whatever it did (benchmarks/REPORT.md, "Anytime streaming").
func Music(rate int, seconds float64, drums Drums) []float64 {
	if seconds <= 0 {
		seconds = 3
	}
	n, e := int(seconds*float64(rate)), int(MusicSilence*float64(rate))
	x := make([]float64, n)
	if n > 2*e {
		copy(x[e:], musicBody(rate, float64(n-2*e)/float64(rate), drums == WithDrums))
	}
	return x
}

// MusicSilence is the silence, in seconds, before and after the music of Music.
const MusicSilence = 0.1

// musicBody is Music without the surrounding silence.
func musicBody(rate int, seconds float64, drums bool) []float64 {
	fs := float64(rate)
	n := int(seconds * fs)
	x := make([]float64, n)
	note := func(f0, start, dur, amp, decay, vib float64, partials int) {
		i0 := int(start * fs)
		for i := i0; i < min(n, i0+int(dur*fs)); i++ {
			t := float64(i-i0) / fs
			env := amp * math.Exp(-t*decay) * math.Min(1, t*200) // 5 ms attack
			f := f0 * (1 + vib*math.Sin(2*math.Pi*5*t))
			for k := 1; k <= partials; k++ {
				fk := f * float64(k) * math.Sqrt(1+0.0004*float64(k*k))
				if fk >= fs/2 {
					break
				}
				x[i] += env / float64(k) * math.Sin(2*math.Pi*fk*t+float64(k))
			}
		}
	}
	beat := 0.5
	kick, hat := 0.0, 0.0
	if drums {
		kick, hat = 0.5, 0.08
	}
	melody := []float64{440, 494, 523, 587, 659, 587, 523, 494, 440, 392, 440, 523}
	bass := []float64{110, 110, 98, 98, 87.3, 87.3, 98, 98}
	chords := [][]float64{{220, 277, 330}, {196, 247, 294}, {175, 220, 262}, {196, 247, 294}}
	for b := 0; float64(b)*beat < seconds; b++ {
		t := float64(b) * beat
		note(melody[b%len(melody)], t, beat, 0.25, 6, 0, 10)
		note(melody[(b+2)%len(melody)]*2, t+beat/2, beat/2, 0.12, 10, 0, 6)
		note(bass[b%len(bass)], t, beat, 0.3, 3, 0, 8)
		if b%4 == 0 {
			for _, f := range chords[(b/4)%len(chords)] {
				note(f, t, 4*beat, 0.08, 0.7, 0.003, 6)
			}
		}
		// Kick: a decaying sine swept 150 → 50 Hz.
		i0 := int(t * fs)
		ph := 0.0
		for i := i0; i < min(n, i0+int(0.15*fs)); i++ {
			u := float64(i-i0) / fs
			ph += 2 * math.Pi * (50 + 100*math.Exp(-u*30)) / fs
			x[i] += kick * math.Exp(-u*25) * math.Sin(ph)
		}
	}
	rng := rand.New(rand.NewPCG(5, 8))
	for t := beat / 2; t < seconds; t += beat {
		i0 := int(t * fs)
		prev := 0.0
		for i := i0; i < min(n, i0+int(0.05*fs)); i++ {
			v := rng.NormFloat64()
			x[i] += hat * math.Exp(-float64(i-i0)/fs*80) * (v - prev) // first difference: bright
			prev = v
		}
	}
	peak := 0.0
	for _, v := range x {
		peak = math.Max(peak, math.Abs(v))
	}
	for i := range x {
		x[i] *= 0.8 / peak
	}
	return x
}

// Shutter returns a camera-shutter-like transient, 1 s at rate Hz, deterministic: four shutter
// sounds, each a click (one sample at full amplitude) followed after 25–40 ms by a second,
// weaker one, both trailed by seeded white noise decaying with a time constant of 2–12 ms: the
// broadband, time-localised kind of signal on which issue 13 measured PGHI initialisation
// costing FGLA 5 dB.
func Shutter(rate int) []float64 {
	rng := rand.New(rand.NewPCG(13, 4))
	x := make([]float64, rate)
	burst := func(at int, amp, tau float64) {
		x[at] += amp
		for i := at + 1; i < len(x) && i < at+int(8*tau*float64(rate)); i++ {
			x[i] += amp * 0.4 * rng.NormFloat64() * math.Exp(-float64(i-at)/(tau*float64(rate)))
		}
	}
	for k, t := range []float64{0.1, 0.35, 0.6, 0.8} {
		at := int(t * float64(rate))
		burst(at, 0.9, 0.002+0.002*float64(k))
		burst(at+int((0.025+0.005*float64(k))*float64(rate)), 0.5, 0.004+0.002*float64(k))
	}
	return x
}
