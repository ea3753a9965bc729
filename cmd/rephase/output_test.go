package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rephase/rephase/internal/outfile"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// testWAV writes half a second of a 440 Hz tone at 8 kHz (peak 0.4), or silence.
func testWAV(t *testing.T, dir, name string, silent bool) string {
	t.Helper()
	x := make([]float64, 4000)
	if !silent {
		for i := range x {
			x[i] = 0.4 * math.Sin(2*math.Pi*440*float64(i)/8000)
		}
	}
	p := filepath.Join(dir, name)
	if err := wav.Write(p, 8000, [][]float64{x}, wav.PCM16); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInvertFlagsOutOfRange: issue 14 item 7 — each was accepted (an all-NaN WAV, ±Inf samples,
// 100 iterations for --iters 0 and 512 for --n-fft 0, exit 1 for --iters -1, 120 s of FFT
// planning for n_fft 2^22) and item 8 (NOLA). Each is now an input error (exit status 2) naming
// the flag, and no output is written.
func TestInvertFlagsOutOfRange(t *testing.T) {
	dir := t.TempDir()
	in := testWAV(t, dir, "in.wav", false)
	out := filepath.Join(dir, "out.wav")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--alpha", "NaN"}, "--alpha NaN"},
		{[]string{"--alpha", "1.5"}, "--alpha 1.5"},
		{[]string{"--method", "sgdm", "--lr", "1e6"}, "--lr 1e+06"},
		{[]string{"--method", "adam", "--lr", "Inf"}, "--lr +Inf"},
		{[]string{"--lr", "-1"}, "--lr -1"},
		{[]string{"--iters", "-1"}, "--iters -1"},
		{[]string{"--tol", "NaN"}, "--tol NaN"},
		{[]string{"--n-fft", "0"}, "--n-fft 0"},
		{[]string{"--n-fft", "-512"}, "--n-fft -512"},
		{[]string{"--n-fft", "4194304"}, "--n-fft 4194304 is longer than the signal (4000 samples)"},
		{[]string{"--iters", "-1", "--tfr", "cwt"}, "--iters -1"},
		{[]string{"--hop", "512"}, "violates NOLA"},
		{[]string{"--n-fft", "256", "--win-length", "200", "--hop", "200", "--window", "blackman"}, "violates NOLA"},
	} {
		os.Remove(out)
		err := runInvert(append([]string{in, "--out", out}, c.args...))
		var ie inputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want an input error with %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: output written", c.args)
		}
	}
	if err := runDemo([]string{"--iters", "0", "--out-dir", filepath.Join(dir, "demo")}); !errors.As(err, new(inputError)) {
		t.Errorf("demo --iters 0: %v, want an input error", err)
	}
}

// TestStreamingNFFTOutOfRange: stream and analyze refuse --n-fft 0 (which silently became 512) and
// an n_fft longer than the signal (n_fft 2^20 on a short file planned and ran for 44 s).
func TestStreamingNFFTOutOfRange(t *testing.T) {
	dir := t.TempDir()
	in := testWAV(t, dir, "in.wav", false)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		run  func([]string) error
		args []string
		want string
	}{
		{runStream, []string{in, "--out", out, "--n-fft", "0"}, "--n-fft 0"},
		{runStream, []string{in, "--out", out, "--n-fft", "1048576"}, "longer than the signal"},
		{runAnalyze, []string{in, "--out", out, "--n-fft", "1048576"}, "longer than the signal"},
		{runSynth, []string{"--out", out, "--n-fft", "7", "--headerless", "--sr", "16000"}, "--n-fft 7"},
	} {
		err := c.run(c.args)
		if !errors.As(err, new(inputError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want an input error with %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: output written", c.args)
		}
	}
}

// TestInvertZeroIterations: --iters 0 is the initial signal (PGHI alone with --init pghi), not
// 100 iterations; the scalogram path too.
func TestInvertZeroIterations(t *testing.T) {
	dir := t.TempDir()
	in := testWAV(t, dir, "in.wav", false)
	for _, tfr := range []string{"stft", "cwt"} {
		out0, out1 := filepath.Join(dir, tfr+"0.wav"), filepath.Join(dir, tfr+"1.wav")
		args := []string{in, "--tfr", tfr, "--init", "random", "--tol", "0"}
		if err := runInvert(append(args, "--out", out0, "--iters", "0")); err != nil {
			t.Fatal(err)
		}
		if err := runInvert(append(args, "--out", out1, "--iters", "1")); err != nil {
			t.Fatal(err)
		}
		a0, _ := wav.Read(out0)
		a1, _ := wav.Read(out1)
		s, _ := retrieval.NewSTFT(retrieval.Config{NFFT: 512}, 4000)
		ref, _ := wav.Read(in)
		sc := func(a *wav.Audio) float64 {
			return retrieval.DB(retrieval.SpectralConvergence(s.Magnitude(nil, a.Channels[0]), s.Magnitude(nil, ref.Channels[0])))
		}
		if a0 == nil || a1 == nil || !(sc(a1) < sc(a0)) {
			t.Errorf("%s: SC after 0 iterations %v, after 1 %v: want the initial signal, before the first iteration", tfr, sc(a0), sc(a1))
		}
	}
}

// TestWriteJSONNonFiniteIsNull: issue 14 item 9 — a silent input's SC of −Inf dB made --json fail
// ("json: unsupported value: -Inf") after the WAV was written. Finite values encode exactly as
// encoding/json encodes them.
func TestWriteJSONNonFiniteIsNull(t *testing.T) {
	type inner struct {
		A float64 `json:"a"`
		B float64 `json:"b,omitempty"`
	}
	type Embedded struct{ E int }
	type report struct {
		Embedded
		Name   string             `json:"name"`
		SC     float64            `json:"sc_db"`
		Skip   float64            `json:"-"`
		Opt    string             `json:"opt,omitempty"`
		Pad    [2]int             `json:"pad,omitempty"`
		List   []float64          `json:"list"`
		Nested []inner            `json:"nested"`
		Map    map[string]float32 `json:"map"`
		Ptr    *float64           `json:"ptr"`
		Window retrieval.Window   `json:"window"` // a TextMarshaler
		Raw    []byte             `json:"raw"`
		Ints   map[int]string     `json:"ints"`
		hidden float64
	}
	finite := report{Embedded{3}, "<x>", -20.5, 1, "", [2]int{0, 0}, []float64{1, 2.5}, []inner{{1, 0}, {2, 3}},
		map[string]float32{"z": 1, "a": 0.5}, nil, retrieval.Hamming, []byte("hi"), map[int]string{2: "b", 1: "a"}, 7}
	for _, v := range []any{finite, &finite, map[string]any{"r": finite, "n": nil, "f": 1e-300, "i": uint64(1 << 63)}, []any{1, "s", true}} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := writeJSON(&b, v); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(b.String(), "\n"); got != string(want) {
			t.Errorf("writeJSON\n%s\nencoding/json\n%s", got, want)
		}
	}
	inf := math.Inf(-1)
	bad := finite
	bad.SC, bad.List, bad.Nested, bad.Ptr = inf, []float64{math.NaN(), 1}, []inner{{math.Inf(1), math.NaN()}}, &inf
	var b bytes.Buffer
	if err := writeJSON(&b, map[string]any{"report": bad, "sc_db": inf, "rtf": float32(math.NaN())}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sc_db":null`, `"list":[null,1]`, `"nested":[{"a":null,"b":null}]`, `"ptr":null`, `"rtf":null`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s lacks %s", b.String(), want)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

// runBinary runs the built rephase with args and returns its combined output and exit status.
func runBinary(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("%v: %v", args, err)
	return "", 0
}

// TestOutputFilesThroughTheBinary: issue 14 items 1, 2, 7 and 9 through the built program — exit
// statuses, /dev/null (as root the old writer replaced the device node with a regular file), a
// FIFO, a symlink, the umask, --out naming the input, a full disk, and --json on silence.
func TestOutputFilesThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	in := testWAV(t, dir, "in.wav", false)
	inBytes, _ := os.ReadFile(in)
	short := []string{"--iters", "2"}

	// Exit status 2, not 1, for out-of-range flags; NOLA for the streaming commands too.
	for _, args := range [][]string{
		{"invert", in, "--out", filepath.Join(dir, "o.wav"), "--iters", "-1"},
		{"invert", in, "--out", filepath.Join(dir, "o.wav"), "--alpha", "NaN"},
		{"invert", in, "--out", filepath.Join(dir, "o.wav"), "--method", "sgdm", "--lr", "1e6"},
		{"stream", in, "--out", filepath.Join(dir, "o.wav"), "--hop", "512"},
		{"analyze", in, "--out", filepath.Join(dir, "o.fs"), "--hop", "512"},
	} {
		if msg, code := runBinary(t, bin, args...); code != 2 || !strings.Contains(msg, "rephase: ") {
			t.Errorf("%v: exit %d, want 2 with a message:\n%s", args, code, msg)
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "o.*")); len(ents) != 0 {
		t.Errorf("outputs written: %v", ents)
	}

	// /dev/null stays a device.
	if msg, code := runBinary(t, bin, append([]string{"invert", in, "--out", "/dev/null"}, short...)...); code != 0 {
		t.Fatalf("--out /dev/null: exit %d\n%s", code, msg)
	}
	if fi, err := os.Lstat("/dev/null"); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (%v)", fi.Mode(), err)
	}

	// A FIFO receives the WAV.
	fifo := filepath.Join(dir, "fifo.wav")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if msg, code := runBinary(t, bin, append([]string{"invert", in, "--out", fifo}, short...)...); code != 0 {
		t.Fatalf("--out FIFO: exit %d\n%s", code, msg)
	}
	if a, err := wav.Decode(<-got); err != nil || a.Len() != 4000 {
		t.Errorf("through the FIFO: %v", err)
	}

	// A symlink is followed; a new file honours the umask.
	target := filepath.Join(dir, "target.wav")
	link := filepath.Join(dir, "link.wav")
	os.Symlink("target.wav", link)
	cmd := exec.Command("sh", "-c", `umask 022 && exec "$0" "$@"`, bin, "invert", in, "--out", link, "--iters", "2")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("--out symlink: %v\n%s", err, msg)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced (%v)", err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("target: %v, want mode 0644 under umask 022 (%v)", fi.Mode(), err)
	} else if a, err := wav.Read(target); err != nil || a.Len() != 4000 {
		t.Errorf("target: %v", err)
	}

	// --out naming the input, directly, through a symlink or a hard link: refused.
	inLink := filepath.Join(dir, "in-link.wav")
	os.Symlink("in.wav", inLink)
	inHard := filepath.Join(dir, "in-hard.wav")
	os.Link(in, inHard)
	for _, out := range []string{in, inLink, inHard} {
		for _, cmd := range []string{"invert", "analyze"} {
			msg, code := runBinary(t, bin, cmd, in, "--out", out)
			if code != 2 || !strings.Contains(msg, "refusing to overwrite") {
				t.Errorf("%s --out %s: exit %d, want 2:\n%s", cmd, out, code, msg)
			}
		}
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, inBytes) {
		t.Error("the input was changed")
	}

	// --json on a silent input: SC is −Inf dB, printed as null, exit 0.
	silent := testWAV(t, dir, "silent.wav", true)
	msg, code := runBinary(t, bin, "invert", silent, "--out", filepath.Join(dir, "s.wav"), "--json")
	var r map[string]any
	if code != 0 || json.Unmarshal([]byte(msg), &r) != nil || r["sc_db"] != nil {
		t.Errorf("--json on silence: exit %d, %s", code, msg)
	}

	// A full disk: exit 1 naming the file, no partial or temporary file.
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Logf("skipping the full-disk case: cannot mount a small tmpfs: %v %s", err, out)
		return
	}
	defer exec.Command("umount", disk).Run()
	long := filepath.Join(dir, "long.wav")
	wav.Write(long, 8000, [][]float64{make([]float64, 40000)}, wav.PCM16) // 160 kB as float32
	full := filepath.Join(disk, "out.wav")
	if msg, code := runBinary(t, bin, "invert", long, "--out", full, "--iters", "1"); code != 1 || !strings.Contains(msg, full) {
		t.Errorf("full disk: exit %d, want 1 naming %s:\n%s", code, full, msg)
	}
	// analyze --out writes its frames (320 kB) through a temporary file too (item 3).
	fullFrames := filepath.Join(disk, "frames")
	if msg, code := runBinary(t, bin, "analyze", long, "--out", fullFrames); code != 1 || !strings.Contains(msg, fullFrames) {
		t.Errorf("analyze on a full disk: exit %d, want 1 naming %s:\n%s", code, fullFrames, msg)
	}
	if ents, _ := os.ReadDir(disk); len(ents) != 0 {
		t.Errorf("left on the full disk: %v", ents)
	}
}

// TestSignalRemovesTemporaryOutput: SIGTERM while an output is being written (its temporary
// .NAME.tmpNNN exists, not yet committed) removes the temporary file and ends the process by the
// signal. The test binary re-runs itself as the child: it installs cleanUpOnSignal as invert and
// demo do, starts an output, says so on stdout and waits for the signal.
func TestSignalRemovesTemporaryOutput(t *testing.T) {
	if dir := os.Getenv("REPHASE_SIGNAL_CHILD"); dir != "" {
		cleanUpOnSignal()
		o, err := outfile.Create(filepath.Join(dir, "out.wav"))
		if err != nil {
			os.Exit(3)
		}
		o.Write([]byte("partial"))
		fmt.Println("writing")
		time.Sleep(20 * time.Second) // killed long before
		os.Exit(4)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalRemovesTemporaryOutput$")
	cmd.Env = append(os.Environ(), "REPHASE_SIGNAL_CHILD="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "writing\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || !strings.Contains(ents[0].Name(), ".tmp") {
		t.Fatalf("while writing: %v, want one temporary file", ents)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("after SIGTERM: %v, want death by SIGTERM", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left: %v", ents)
	}
}

// TestRawWriterRefusesNonFinite: raw PCM on stdout (synth --out -) refuses NaN and ±Inf like the
// WAV writers, naming the sample, rather than converting NaN to an undefined int16.
func TestRawWriterRefusesNonFinite(t *testing.T) {
	for _, s16 := range []bool{true, false} {
		var b strings.Builder
		w := newRawWriter(&b, s16)
		if err := w.write([]float64{0.1, -0.2}); err != nil {
			t.Fatal(err)
		}
		err := w.write([]float64{0.3, math.NaN()})
		var nf *wav.NonFiniteError
		if !errors.As(err, &nf) || nf.Sample != 3 {
			t.Errorf("s16 %v: error %v, want a non-finite sample error at sample 3", s16, err)
		}
	}
}

// TestLiveSampleRateBounded: live --sr is bounded like every other rate (1…768000 Hz), exit 2.
func TestLiveSampleRateBounded(t *testing.T) {
	for _, sr := range []string{"1000000", "-5"} {
		err := runLive([]string{"--input", "sine:440", "--output", filepath.Join(t.TempDir(), "o.wav"), "--sr", sr, "--duration", "1s"})
		if !errors.As(err, new(inputError)) {
			t.Errorf("--sr %s: %v, want an input error", sr, err)
		}
	}
}

// TestInvertPrecisionOutsideSTFT: --precision float32 is refused where it would be silently
// ignored (the scalogram and scattering paths compute in float64); float64 and auto are accepted.
func TestInvertPrecisionOutsideSTFT(t *testing.T) {
	dir := t.TempDir()
	in := testWAV(t, dir, "in.wav", false)
	out := filepath.Join(dir, "out.wav")
	for _, tfr := range []string{"cwt", "scattering"} {
		err := runInvert([]string{in, "--tfr", tfr, "--precision", "float32", "--out", out})
		if err == nil || !strings.Contains(err.Error(), "--precision float32") {
			t.Errorf("--tfr %s --precision float32: error %v, want a refusal naming the flag", tfr, err)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--tfr %s: output written", tfr)
		}
	}
	if err := runInvert([]string{in, "--tfr", "cwt", "--precision", "bogus", "--out", out}); err == nil || !strings.Contains(err.Error(), "want auto, float32 or float64") {
		t.Errorf("--tfr cwt --precision bogus: %v, want the valid values named", err)
	}
	if err := runInvert([]string{in, "--tfr", "cwt", "--precision", "float64", "--iters", "1", "--out", out}); err != nil {
		t.Errorf("--tfr cwt --precision float64: %v", err)
	}
}
