//go:build cgo

package device

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gordonklaus/portaudio"
)

// requireJACK skips unless a JACK server is running (scripts/test.sh starts one with the dummy
// backend and sets REPHASE_REQUIRE_JACK=1, which turns the skip into a failure).
func requireJACK(t *testing.T) {
	t.Helper()
	if err := exec.Command("jack_lsp").Run(); err != nil {
		if os.Getenv("REPHASE_REQUIRE_JACK") == "1" {
			t.Fatalf("REPHASE_REQUIRE_JACK=1 but no JACK server answers jack_lsp: %v", err)
		}
		t.Skip("no JACK server (scripts/test.sh starts jackd -d dummy)")
	}
	os.Setenv("JACK_NO_START_SERVER", "1")
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Terminate() })
}

// passthrough runs a Sine source with clicks through the rings for d: the worker copies the
// input ring to the output ring after a prefill of silence, and records what it wrote. It
// returns the stream's stats, the recording and the source.
func passthrough(t *testing.T, d time.Duration, prefill int) (Stats, []float32, *Sine, runtime.MemStats, runtime.MemStats) {
	src := &Sine{Freq: 440, Amp: 0.25, Rate: 48000, ClickEvery: 12000, ClickAmp: 0.5}
	s, err := Open(Config{Output: "default", HostAPI: "jack", SampleRate: 48000, FramesPerBuffer: 256, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := make([]float32, 0, int(d.Seconds()*48000)+1<<16)
	zeros := make([]float32, prefill)
	s.Output().Write(zeros)
	rec = append(rec, zeros...)
	buf := make([]float32, 256)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.Prime()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		n, _ := s.Input().ReadFull(buf)
		s.Output().Write(buf[:n])
		if len(rec)+n <= cap(rec) {
			rec = append(rec, buf[:n]...)
		}
	}
	runtime.ReadMemStats(&after)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	return s.Stats(), rec, src, before, after
}

// TestPassthroughJACK: under JACK's dummy backend the callback keeps the rings flowing with no
// xrun, and every click comes out exactly prefill samples after it went in.
func TestPassthroughJACK(t *testing.T) {
	requireJACK(t)
	const prefill = 4096 // 85 ms: CI runs other test packages beside this one
	st, rec, src, before, after := passthrough(t, 1500*time.Millisecond, prefill)
	t.Logf("%d callbacks, %d frames in, %d out, xruns %d, dropped %d, PortAudio flags in %d/%d out %d/%d; %.3f heap allocations per callback",
		st.Callbacks, st.FramesIn, st.FramesOut, st.Xruns, st.InputDropped, st.PAInputUnderflow, st.PAInputOverflow,
		st.PAOutputUnderflow, st.PAOutputOverflow, float64(after.Mallocs-before.Mallocs)/float64(st.Callbacks))
	if st.Callbacks < 100 {
		t.Fatalf("only %d callbacks in 1.5 s", st.Callbacks)
	}
	if st.Xruns != 0 || st.InputDropped != 0 {
		t.Errorf("xruns %d, input dropped %d", st.Xruns, st.InputDropped)
	}
	clicks := 0
	for i := prefill; i < len(rec); i++ {
		if src.IsClick(i - prefill) {
			clicks++
			if rec[i] < 0.5 {
				t.Fatalf("no click at output sample %d (input %d): %v", i, i-prefill, rec[i])
			}
		} else if rec[i] > 0.3 {
			t.Fatalf("unexpected click at output sample %d", i)
		}
	}
	if clicks < 3 {
		t.Errorf("only %d clicks checked", clicks)
	}
}

func TestFindListsDevices(t *testing.T) {
	requireJACK(t)
	_, err := Find("no such device", "", Output)
	if err == nil || !strings.Contains(err.Error(), "the devices are") || !strings.Contains(err.Error(), "system") {
		t.Errorf("error for a missing device: %v", err)
	}
	if _, err := Find("99", "jack", Output); err == nil {
		t.Error("index 99 accepted")
	}
	if d, err := Find("system", "jack", Output); err != nil || d.MaxOutputChannels < 1 {
		t.Errorf("Find(system): %+v, %v", d, err)
	}
	apis, _ := portaudio.HostApis()
	for i, a := range apis {
		if strings.Contains(a.Name, "JACK") {
			if d, err := Find("0", strconv.Itoa(i), Output); err != nil || d.Index != 0 {
				t.Errorf("Find by device index 0 and host API index %d: %+v, %v", i, d, err)
			}
		}
	}
}

// TestCallbackDoesNotAllocate: with the rings pre-filled and no worker running, a second of
// callbacks (gordonklaus/portaudio's cgo → reflect dispatch plus ours) makes no heap allocation
// per callback. (runtime.MemStats counts the whole process, so a stray allocation elsewhere could
// only make this fail, never pass.)
func TestCallbackDoesNotAllocate(t *testing.T) {
	requireJACK(t)
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	src := &Sine{Freq: 440, Amp: 0.25, Rate: 48000}
	s, err := Open(Config{Output: "default", HostAPI: "jack", SampleRate: 48000, FramesPerBuffer: 256, Source: src, RingSize: 1 << 17})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Output().Write(make([]float32, 1<<17-1))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c0 := s.Stats().Callbacks
	time.Sleep(time.Second)
	c1 := s.Stats().Callbacks
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / float64(c1-c0)
	t.Logf("%d callbacks, %d heap allocations (%.4f per callback)", c1-c0, after.Mallocs-before.Mallocs, per)
	if c1-c0 < 100 {
		t.Fatalf("only %d callbacks in a second", c1-c0)
	}
	if per >= 0.05 {
		t.Errorf("%.3f heap allocations per callback", per)
	}
}
