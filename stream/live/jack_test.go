//go:build cgo

package live

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
)

// openJACK initialises PortAudio and opens cfg on the JACK host API, skipping the test when no
// JACK server answers (scripts/test.sh starts jackd with the dummy backend and sets
// REPHASE_REQUIRE_JACK=1, which turns the skip into a failure). The stream is closed and
// PortAudio released at the end of the test.
func openJACK(t *testing.T, cfg device.Config) *device.Stream {
	t.Helper()
	t.Setenv("JACK_NO_START_SERVER", "1") // never spawn a server from a test
	if err := device.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { device.Terminate() })
	if _, err := device.Find("default", "jack", device.Output); err != nil {
		if os.Getenv("REPHASE_REQUIRE_JACK") == "1" {
			t.Fatalf("REPHASE_REQUIRE_JACK=1 but PortAudio finds no JACK output: %v", err)
		}
		t.Skip("no JACK server (scripts/test.sh starts jackd -d dummy)")
	}
	cfg.HostAPI = "jack"
	s, err := device.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// jackEngine is n_fft 512, hop 128, ℓ = 3 at 48 kHz in the deadline mode, as live runs.
func jackEngine() stream.Config {
	stft, _ := retrieval.Config{NFFT: 512, Hop: 128, Framing: retrieval.Full}.Resolve()
	c := stream.DefaultConfig()
	c.STFT, c.Budget = stft, stream.DefaultRealtimeBudget
	return c
}

// TestRunJACKSineProbes runs the vocoder on JACK's dummy output for 2 s, a sine with latency
// probes as the input: the clicks come out the file delay plus the prefill later, the same for
// every click without xruns, and the recording holds the prefill, the output of every input
// sample read, and the file delay.
func TestRunJACKSineProbes(t *testing.T) {
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: 48000, ClickEvery: 24000, ClickAmp: 0.5}
	dev := openJACK(t, device.Config{Output: "default", SampleRate: 48000, FramesPerBuffer: 256, Source: sine})
	var rec collect
	// A generous output buffer (2048 samples, 42.7 ms): CI runs other test packages beside this one.
	r, err := Run(context.Background(), Config{Engine: jackEngine(), Device: dev, Probe: sine, MaxSamples: 2 * 48000,
		Prefill: 2048, Sinks: []Sink{&rec}})
	if err != nil {
		t.Fatal(err)
	}
	d := r.DeviceReport
	t.Logf("%s: %d callbacks, %d xruns, latency %.3f ms, p99 %.3f ms, %.1f iterations per hop, probes %+v",
		d.Devices, d.Callbacks, d.Xruns, r.LatencyMS, r.BlockMSP99, r.IterationsPerHop, r.Probes)
	if r.SampleRate != 48000 || d.Callbacks == 0 || !strings.Contains(d.Devices, "output") || d.BufferLatencySamples != 2048 {
		t.Fatalf("report %+v %+v", r.EngineReport, d)
	}
	consumed := int(math.Round(d.AudioSeconds * 48000))
	if consumed != 2*48000 || len(rec.y) != 2048+consumed+r.FileDelaySamples {
		t.Errorf("%d samples read, %d recorded; want 96000 and %d", consumed, len(rec.y), 2048+consumed+r.FileDelaySamples)
	}
	if r.Probes == nil || r.Probes.Count < 3 {
		t.Fatalf("probes %+v", r.Probes)
	}
	want := samplesMS(r.FileDelaySamples+2048, 48000)
	for _, l := range r.Probes.LatenciesMS {
		// An xrun plays silence and delays what follows; it never makes audio early.
		if l < want-2 || d.Xruns == 0 && l > want+2 { // ±2 ms: phase retrieval smears a click
			t.Errorf("a click came out after %.3f ms, predicted %.3f ± 2 ms (%d xruns)", l, want, d.Xruns)
		}
	}
}

// TestRunJACKDuplex runs the microphone path: JACK's dummy capture (silence) in, the playback
// out, both through the callback's rings, for one second, losing no input.
func TestRunJACKDuplex(t *testing.T) {
	if raceEnabled {
		// gordonklaus/portaudio passes its stream ids (0, 1, …) to C as pointers; checkptr, on
		// under -race, rejects 1: a process can open one stream only.
		t.Skip("the race detector's checkptr allows one PortAudio stream per process (TestRunJACKSineProbes opens it)")
	}
	dev := openJACK(t, device.Config{Input: "default", Output: "default", SampleRate: 48000, FramesPerBuffer: 256})
	r, err := Run(context.Background(), Config{Engine: jackEngine(), Device: dev, MaxSamples: 48000, Prefill: 2048})
	if err != nil {
		t.Fatal(err)
	}
	d := r.DeviceReport
	t.Logf("%s: %d callbacks, %d xruns, %d input samples dropped", d.Devices, d.Callbacks, d.Xruns, d.InputDropped)
	if !strings.Contains(d.Devices, "input") || !strings.Contains(d.Devices, "output") || d.AudioSeconds < 1 || d.InputDropped != 0 {
		t.Errorf("devices %q, %v s of audio, %d input samples dropped", d.Devices, d.AudioSeconds, d.InputDropped)
	}
}
