package benchmarks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// SpeechText is the sentence spoken by Speech.
const SpeechText = "I saw the sheep near the river bank"

// Chirp returns the seeds' input: the exponential chirp from 1 Hz to 1024 Hz over 2048 samples at
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
	if b, err := exec.Command("sox", raw, "-r", fmt.Sprint(rate), "-b", "16", out).CombinedOutput(); err != nil {
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
