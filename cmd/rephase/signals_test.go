package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// longSpeechLike is speechLike repeated to secs seconds at 16 kHz.
func longSpeechLike(secs float64) []float64 {
	s := speechLike()
	x := make([]float64, int(secs*16000))
	for i := range x {
		x[i] = s[i%len(s)]
	}
	return x
}

// interrupt starts cmd in its own process group (or group's, if not nil), sends sig to the group after wait (as a
// terminal's Ctrl-C reaches every process of a pipeline), and returns its stdout and error.
func interrupt(t *testing.T, cmd, group *exec.Cmd, wait time.Duration, sig syscall.Signal) (string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if group != nil {
		cmd.SysProcAttr.Pgid = group.Process.Pid
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	pgid := cmd.Process.Pid
	if group != nil {
		pgid = group.Process.Pid
	}
	syscall.Kill(-pgid, sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			err = errors.Join(err, errors.New(stderr.String()))
		}
		return stdout.String(), err
	case <-time.After(60 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		t.Fatalf("still running 60 s after the signal")
	}
	return "", nil
}

// TestSignalsFinaliseOutput is issue 14, item 10: stream (paced and file mode), analyze | synth
// and live in file mode, interrupted by SIGINT or SIGTERM part-way, exit normally and leave a
// valid WAV of what they processed, aligned with the input; no temporary file is left behind.
func TestSignalsFinaliseOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := longSpeechLike(60)
	if err := wav.Write(in, 16000, [][]float64{x}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		pipe   bool // through sh -c
		args   []string
		report bool // prints "interrupted":true
	}{
		{"stream --realtime", syscall.SIGINT, false, []string{"stream", in, "--realtime", "--json"}, true},
		{"stream", syscall.SIGTERM, false, []string{"stream", in, "--iters-per-hop", "512", "--json"}, true},
		{"analyze | synth", syscall.SIGINT, true, []string{"synth", "--iters-per-hop", "512", "--json"}, true},
		{"live file mode", syscall.SIGTERM, false, []string{"live", "--input", in, "--iters-per-hop", "512", "--json"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.wav")
			flag := "--out"
			if c.args[0] == "live" {
				flag = "--output"
			}
			cmd := exec.Command(bin, append(c.args, flag, out)...)
			var first *exec.Cmd // analyze, feeding cmd through a pipe in the same process group
			var pipeR *os.File
			if c.pipe {
				first = exec.Command(bin, "analyze", in)
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				pipeR = r
				first.Stdout, cmd.Stdin = w, r
				first.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				if err := first.Start(); err != nil {
					t.Fatal(err)
				}
				w.Close()
			}
			start := time.Now()
			stdout, err := interrupt(t, cmd, first, 1500*time.Millisecond, c.sig)
			if first != nil {
				pipeR.Close() // analyze, stopped by the signal too, or blocked on the pipe, ends
				first.Wait()
			}
			if err != nil {
				t.Fatalf("after the signal: %v\n%s", err, stdout)
			}
			if c.report {
				var r map[string]any
				if err := json.Unmarshal([]byte(stdout), &r); err != nil || r["interrupted"] != true {
					t.Errorf("report %q: %v", stdout, err)
				}
			}
			a, err := wav.Read(out)
			if err != nil {
				t.Fatalf("the output after the signal is not a valid WAV: %v", err)
			}
			secs := float64(a.Len()) / 16000
			t.Logf("%v after 1.5 s: %.2f s of output in %.2f s", c.sig, secs, time.Since(start).Seconds())
			if a.Len() == 0 || a.Len() >= len(x) {
				t.Fatalf("output of %d samples for an input of %d interrupted part-way", a.Len(), len(x))
			}
			if c.name == "stream --realtime" && (secs < 0.5 || secs > 3) {
				t.Errorf("paced run interrupted after 1.5 s wrote %.2f s", secs)
			}
			// Aligned with the input: a good reconstruction of its first samples.
			if sc := retrieval.STFTSpectralConvergenceDB(retrieval.Config{NFFT: 512, Hop: 128}, x[:a.Len()], a.Channels[0]); sc > -5 {
				t.Errorf("SC against the input's first %d samples %.1f dB", a.Len(), sc)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
				t.Errorf("left behind: %v", ents)
			}
		})
	}
}

// TestStreamRealtimeCountsDroppedInput is issue 14, item 11: settings that cannot keep up lose
// input, which is counted (input_dropped), and the output still has the input's length with
// silence where the input was lost; the spectral convergence is finite and the JSON valid.
func TestStreamRealtimeCountsDroppedInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	x := longSpeechLike(2)
	if err := wav.Write(in, 16000, [][]float64{x}, wav.Float32); err != nil {
		t.Fatal(err)
	}
	// K = 400 at n_fft 1024, hop 64: ≈ 25 ms of compute per 4 ms hop on the machines we know.
	b, err := exec.Command(bin, "stream", in, "--out", out, "--realtime", "--n-fft", "1024", "--hop", "64",
		"--iters-per-hop", "400", "--json").Output()
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("JSON %q: %v", b, err)
	}
	dropped, _ := r["input_dropped"].(float64)
	sc, ok := r["sc_db"].(float64)
	if dropped < 64 || !ok || math.IsNaN(sc) || r["output_samples"] != float64(len(x)) {
		t.Fatalf("input_dropped %v, sc_db %v, output_samples %v (want > 0, finite, %d)", r["input_dropped"], r["sc_db"], r["output_samples"], len(x))
	}
	a, err := wav.Read(out)
	if err != nil || a.Len() != len(x) {
		t.Fatalf("output %v, %v samples, want %d", err, a.Len(), len(x))
	}
	// The lost input is silence: at least as many exact zeros as samples dropped.
	zeros := 0
	for _, v := range a.Channels[0] {
		if v == 0 {
			zeros++
		}
	}
	t.Logf("%v of %d samples dropped, %d zeros in the output, SC %.2f dB", dropped, len(x), zeros, sc)
	if float64(zeros) < dropped {
		t.Errorf("%d zero samples in the output for %v dropped", zeros, dropped)
	}
}

// TestPacedRunStopsOnWriteError is issue 14, item 12: when the worker fails (here: the output is
// /dev/full), the producer stops at once instead of pacing the rest of a 30 s input.
func TestPacedRunStopsOnWriteError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	bin := buildRephase(t)
	in := filepath.Join(t.TempDir(), "in.wav")
	if err := wav.Write(in, 16000, [][]float64{longSpeechLike(30)}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b, err := exec.Command(bin, "stream", in, "--out", "/dev/full", "--realtime").CombinedOutput()
	secs := time.Since(start).Seconds()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(b), "no space") {
		t.Fatalf("exit %v: %s", err, b)
	}
	if secs > 10 {
		t.Errorf("the failed paced run took %.1f s of a 30 s input", secs)
	}
}

// TestNegativeItersPerHopRefused is issue 14, item 7's --iters-per-hop -5 for every command
// with engine flags: exit status 2 before any work.
func TestNegativeItersPerHopRefused(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	if err := wav.Write(in, 16000, [][]float64{speechLike()}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	for name, run := range map[string]func() error{
		"stream": func() error { return runStream([]string{in, "--out", out, "--iters-per-hop", "-5"}) },
		"synth": func() error {
			return runSynth([]string{"--in", in, "--out", out, "--iters-per-hop", "-5", "--headerless"})
		},
		"live": func() error { return runLive([]string{"--input", in, "--output", out, "--iters-per-hop", "-5"}) },
	} {
		err := run()
		var ie inputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "--iters-per-hop -5") {
			t.Errorf("%s --iters-per-hop -5: %v, want an input error naming the flag", name, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s wrote an output", name)
		}
	}
}

// peakRSS runs the command under GNU time and returns its peak resident set size in bytes. (The
// rusage of a child of the test process would not do: Go starts children with vfork, and Linux
// carries the parent's high-water mark over the exec into the child's.)
func peakRSS(t *testing.T, name string, args ...string) int64 {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", f, name}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, b)
	}
	b, err := os.ReadFile(f)
	kb, err2 := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || err2 != nil {
		t.Fatalf("GNU time's report %q: %v %v", b, err, err2)
	}
	return kb * 1024
}

// TestStreamingMemoryIndependentOfLength is issue 14, item 13 for stream, analyze and synth:
// their peak RSS for 4 minutes of audio is within a few MB of that for 10 seconds (reading the
// whole signal, 4 minutes at 16 kHz would cost tens of MB per copy).
func TestStreamingMemoryIndependentOfLength(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("needs GNU time (/usr/bin/time) to measure a child's peak RSS")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	rss := map[string][2]int64{}
	for i, secs := range []float64{10, 240} {
		in := filepath.Join(dir, "in.wav")
		x := longSpeechLike(secs)
		if err := wav.Write(in, 16000, [][]float64{x, x}, wav.Float32); err != nil {
			t.Fatal(err)
		}
		frames := filepath.Join(dir, "frames")
		for name, args := range map[string][]string{
			"stream":  {"stream", in, "--out", filepath.Join(dir, "out.wav"), "--iters-per-hop", "1"},
			"analyze": {"analyze", in, "--out", frames},
		} {
			v := rss[name]
			v[i] = peakRSS(t, bin, args...)
			rss[name] = v
		}
		v := rss["synth"]
		v[i] = peakRSS(t, bin, "synth", "--in", frames, "--out", filepath.Join(dir, "synth.wav"), "--iters-per-hop", "1")
		rss["synth"] = v
	}
	for name, v := range rss {
		t.Logf("%s: peak RSS %.1f MB for 10 s, %.1f MB for 240 s (stereo float, 16 kHz)", name, float64(v[0])/1e6, float64(v[1])/1e6)
		if v[1] > v[0]+8<<20 {
			t.Errorf("%s: peak RSS grows from %.1f MB to %.1f MB with the input's length", name, float64(v[0])/1e6, float64(v[1])/1e6)
		}
	}
}
