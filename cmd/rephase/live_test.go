package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// requireJACK skips unless a JACK server answers (scripts/test.sh starts jackd with the dummy
// backend and sets REPHASE_REQUIRE_JACK=1, which turns the skip into a failure).
func requireJACK(t *testing.T) {
	t.Helper()
	if !haveCgo {
		t.Skip("built without cgo: no PortAudio")
	}
	if err := exec.Command("jack_lsp").Run(); err != nil {
		if os.Getenv("REPHASE_REQUIRE_JACK") == "1" {
			t.Fatalf("REPHASE_REQUIRE_JACK=1 but no JACK server answers jack_lsp: %v", err)
		}
		t.Skip("no JACK server (scripts/test.sh starts jackd -d dummy)")
	}
}

func buildRephase(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rephase")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// TestLiveSineThroughJACK runs the must-show command for a few seconds: a sine with latency
// probes through the engine to JACK's dummy output. The clicks come out at the algorithmic
// latency plus the output buffering, the same for every probe, and the recording is a valid WAV
// of the whole output.
func TestLiveSineThroughJACK(t *testing.T) {
	requireJACK(t)
	bin := buildRephase(t)
	rec := filepath.Join(t.TempDir(), "rec.wav")
	// A generous output buffer (2048 samples, 42.7 ms): CI runs other test packages beside this one.
	out, err := exec.Command(bin, "live", "--input", "sine:440", "--output", "default", "--host-api", "jack",
		"--duration", "3s", "--prefill", "2048", "--record", rec, "--json").Output()
	if err != nil {
		t.Fatalf("%v", err)
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("latency %.3f ms predicted (file delay %.3f + buffering %.3f), %.3f measured over %v probes (spread %.3f); xruns %v; p99 %.3f ms",
		r["latency_ms"], r["file_delay_ms"], r["buffer_latency_ms"], r["measured_latency_ms"], r["probes"],
		r["measured_latency_spread_ms"], r["xruns"], r["block_ms_p99"])
	if r["sample_rate"].(float64) != 48000 || r["probes"].(float64) < 2 {
		t.Fatalf("report: %s", out)
	}
	predicted := r["latency_ms"].(float64)
	// Issue 17: latency_ms said 32 where latency_samples said 896 (18.7 ms at 48 kHz).
	for _, k := range []string{"latency", "file_delay", "buffer_latency", "algorithmic_latency", "frames_latency"} {
		if ms, n := r[k+"_ms"].(float64), r[k+"_samples"].(float64); math.Abs(ms-1000*n/48000) > 1e-9 {
			t.Errorf("%s_ms %v but %s_samples %v (%.4f ms at 48 kHz)", k, ms, k, n, 1000*n/48000)
		}
	}
	if r["latency_samples"] != r["file_delay_samples"].(float64)+r["buffer_latency_samples"].(float64) {
		t.Errorf("latency_samples %v is not file delay %v + buffering %v", r["latency_samples"], r["file_delay_samples"], r["buffer_latency_samples"])
	}
	lats := r["probe_latencies_ms"].([]any)
	first := lats[0].(float64)
	if d := math.Abs(first - predicted); d > 1.5 {
		t.Errorf("first probe's latency %.3f ms, predicted algorithmic + buffering %.3f ms", first, predicted)
	}
	if r["xruns"].(float64) == 0 {
		if s := r["measured_latency_spread_ms"].(float64); s > 1 {
			t.Errorf("latency not constant without xruns: spread %.3f ms", s)
		}
	} else {
		// An xrun plays silence and delays everything after it; it can never make audio early.
		for _, l := range lats {
			if l.(float64) < predicted-1.5 {
				t.Errorf("a probe came out after %.3f ms, before the predicted %.3f ms", l, predicted)
			}
		}
	}
	a, err := wav.Read(rec)
	if err != nil {
		t.Fatal(err)
	}
	if secs := float64(a.Len()) / 48000; secs < 3 || secs > 3.3 {
		t.Errorf("recording lasts %.3f s", secs)
	}
}

// TestLiveSIGINTLeavesValidWAV interrupts an open-ended run and checks the recording holds
// everything up to the interruption.
func TestLiveSIGINTLeavesValidWAV(t *testing.T) {
	requireJACK(t)
	bin := buildRephase(t)
	rec := filepath.Join(t.TempDir(), "rec.wav")
	cmd := exec.Command(bin, "live", "--input", "sine:440", "--output", "default", "--host-api", "jack", "--record", rec, "--json")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt 2 s after the recording has started to grow: the start-up (a race-detector
	// build, FFTW planning, connecting to JACK) can itself take seconds on a loaded machine.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(rec); err == nil && fi.Size() > 1<<12 {
			break
		}
	}
	time.Sleep(2 * time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
	if !strings.Contains(stdout.String(), `"interrupted":true`) {
		t.Errorf("report: %s", stdout.String())
	}
	a, err := wav.Read(rec)
	if err != nil {
		t.Fatalf("recording after SIGINT: %v", err)
	}
	secs := float64(a.Len()) / float64(a.SampleRate)
	t.Logf("SIGINT after 2 s: recording of %.3f s", secs)
	if secs < 1 {
		t.Errorf("recording of %.3f s", secs)
	}
	peak := 0.0
	for _, v := range a.Channels[0] {
		peak = math.Max(peak, math.Abs(v))
	}
	if peak < 0.1 {
		t.Errorf("recording is silent (peak %.3f)", peak)
	}
}

func TestLiveMissingDeviceListsDevices(t *testing.T) {
	requireJACK(t)
	bin := buildRephase(t)
	out, err := exec.Command(bin, "live", "--input", "sine:440", "--output", "no such card", "--duration", "1s").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the devices are") || !strings.Contains(string(out), "system") {
		t.Errorf("missing device: %v\n%s", err, out)
	}
}

// TestLiveFileModeStretch: file to file runs offline, and the time stretch doubles the duration.
func TestLiveFileModeStretch(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := retrieval.LogChirp(16000, 16000, 200, 2000)
	wav.Write(in, 16000, [][]float64{x}, wav.Float32)
	plain, stretched := filepath.Join(dir, "plain.wav"), filepath.Join(dir, "stretched.wav")
	if err := runLive([]string{"--input", in, "--output", plain, "--json"}); err != nil {
		t.Fatal(err)
	}
	if err := runLive([]string{"--input", in, "--output", stretched, "--effect", "stretch:2", "--effect", "gain:100-4000:-3", "--json"}); err != nil {
		t.Fatal(err)
	}
	a, _ := wav.Read(plain)
	b, _ := wav.Read(stretched)
	if a == nil || b == nil {
		t.Fatal("outputs missing")
	}
	if added := b.Len() - a.Len(); math.Abs(float64(added-len(x))) > 1024 {
		t.Errorf("stretch ×2 added %d samples to a %d-sample input", added, len(x))
	}
	// Stretch needs file mode.
	if err := runLive([]string{"--input", "sine:440", "--output", "default", "--effect", "stretch:2", "--duration", "1s"}); err == nil ||
		!strings.Contains(err.Error(), "file mode") {
		t.Errorf("stretch with a device output: %v", err)
	}
}

// TestLiveDuplexJACK runs the microphone path: JACK's dummy capture port (silence) in, the
// playback port out, both through the callback's rings.
func TestLiveDuplexJACK(t *testing.T) {
	requireJACK(t)
	bin := buildRephase(t)
	out, err := exec.Command(bin, "live", "--input", "default", "--output", "default", "--host-api", "jack",
		"--duration", "1s", "--effect", "gate:20", "--prefill", "2048", "--json").Output()
	if err != nil {
		t.Fatalf("%v", err)
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("devices %v, %v callbacks, xruns %v, input dropped %v", r["devices"], r["callbacks"], r["xruns"], r["input_dropped"])
	if !strings.Contains(r["devices"].(string), "input") || !strings.Contains(r["devices"].(string), "output") {
		t.Errorf("devices: %v", r["devices"])
	}
	if r["audio_seconds"].(float64) < 1 || r["input_dropped"].(float64) != 0 {
		t.Errorf("audio %v s, input dropped %v", r["audio_seconds"], r["input_dropped"])
	}
}
