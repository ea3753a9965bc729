package main

import (
	"bytes"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval/fft"
)

// run runs the built binary with args and returns its stdout, stderr and exit status.
func run(t *testing.T, bin string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return o.String(), e.String(), status
}

// cliFixture builds the binary and writes dir/in.wav: n samples of a 440 Hz sine at 8 kHz.
func cliFixture(t *testing.T, n int) (bin, dir, in string) {
	t.Helper()
	bin, dir = buildRephase(t), t.TempDir()
	in = filepath.Join(dir, "in.wav")
	writeTestWAV(t, in, n, func(i float64) float64 { return 0.5 * math.Sin(2*math.Pi*440*i/8000) })
	return bin, dir, in
}

// TestHelpExitsZeroForEveryCommand (issue 17 item 1): -h, --help and `rephase help CMD` print the
// command's help on stdout with --long flags (a value list and default where the flag has them)
// and exit 0, for every command and the root.
func TestHelpExitsZeroForEveryCommand(t *testing.T) {
	bin := buildRephase(t)
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
			out, errOut, status := run(t, bin, args...)
			if status != 0 || !strings.HasPrefix(out, "usage: rephase "+c.name) || errOut != "" {
				t.Errorf("%v: exit %d, stdout %.80q, stderr %.200q", args, status, out, errOut)
			}
			if !strings.Contains(out, "  -h, --help") {
				t.Errorf("%v: help lists no --help flag:\n%s", args, out)
			}
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		out, _, status := run(t, bin, args...)
		if status != 0 {
			t.Errorf("%v: exit %d", args, status)
		}
		for _, c := range commands {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("%v: command %s not listed:\n%s", args, c.name, out)
			}
		}
	}
	out, _, _ := run(t, bin, "invert", "--help")
	for _, want := range []string{
		"--n-fft int", "(default 512)", "-o, --out FILE",
		"hann (alias hanning)", "rect (rectangular, boxcar)", // every accepted --window name
		"pghi | noise", // every --init
	} {
		if !strings.Contains(out, want) {
			t.Errorf("invert --help lacks %q:\n%s", want, out)
		}
	}
}

// TestUsageErrorsAreOneLineWithSuggestion: a mistyped flag gives one line on stderr naming the
// nearest flag and `rephase help CMD`, and exit status 2, for every command.
func TestUsageErrorsAreOneLineWithSuggestion(t *testing.T) {
	bin := buildRephase(t)
	for _, c := range []struct{ args []string }{
		{[]string{"invert", "in.wav", "--nfft", "512"}},
		{[]string{"stream", "in.wav", "--n-fftt=512"}},
		{[]string{"analyze", "in.wav", "--n_fft", "512"}},
		{[]string{"synth", "--nfft", "512"}},
		{[]string{"live", "--nfft", "512"}},
	} {
		out, errOut, status := run(t, bin, c.args...)
		want := "did you mean --n-fft?"
		if status != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) ||
			!strings.Contains(errOut, "rephase help "+c.args[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want status 2 and one line with %q", c.args, status, out, errOut, want)
		}
	}
	_, errOut, status := run(t, bin, "demo", "--zzzzzz")
	if status != 2 || strings.Contains(errOut, "did you mean") {
		t.Errorf("demo --zzzzzz: exit %d, %q: want 2 and no suggestion (no flag within distance 2)", status, errOut)
	}
	if _, errOut, status := run(t, bin, "invertt"); status != 2 || !strings.Contains(errOut, "invert") {
		t.Errorf("rephase invertt: exit %d, %q: want 2 and a suggestion", status, errOut)
	}
	if _, _, status := run(t, bin); status != 2 {
		t.Errorf("rephase without a command: exit %d, want 2", status)
	}
}

// TestExitCodes (issue 17 item 1): 0 on success, 2 for usage errors (a bad flag value, two inputs)
// and bad input (a negative count, an unknown window, a missing input file), on every command.
func TestExitCodes(t *testing.T) {
	bin, dir, in := cliFixture(t, 8000)
	out := filepath.Join(dir, "out.wav")
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"invert", in, "-o", out, "--iters", "2", "--n-fft", "256"}, 0},
		{[]string{"invert", in, "-o", out, "--iters", "-5"}, 2},
		{[]string{"invert", in, "-o", out, "--iters", "five"}, 2},
		{[]string{"invert", in, "-o", out, "--window", "triangle"}, 2},
		{[]string{"invert", filepath.Join(dir, "missing.wav"), "-o", out}, 2},
		{[]string{"stream", in, "-o", out, "--iters-per-hop", "-5"}, 2},
		{[]string{"stream", in, "-o", out, "--iters-per-hop", "4"}, 0},
		{[]string{"analyze", in, "--n-fft", "-5"}, 2},
		{[]string{"demo", "--iters", "-5"}, 2},
		{[]string{"live", "--input", in, "--output", out, "--iters-per-hop", "-5"}, 2},
		{[]string{"invert", in, out}, 2}, // two positional arguments
	} {
		if _, errOut, status := run(t, bin, c.args...); status != c.want {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, status, c.want, errOut)
		}
	}
}

// TestVersionAndCompletion: --version names the FFT backend of the build, and completion scripts
// are produced for bash, zsh and fish; the completion of a command's flags and of a flag's
// listed values comes from the command's own FlagSet.
func TestVersionAndCompletion(t *testing.T) {
	bin := buildRephase(t)
	out, _, status := run(t, bin, "--version")
	if status != 0 || !strings.HasPrefix(out, "rephase ") || !strings.Contains(out, "FFT backend "+fft.Backend) {
		t.Errorf("--version: exit %d, %q: want the FFT backend %q", status, out, fft.Backend)
	}
	for shell, marker := range map[string]string{"bash": "complete -o default", "zsh": "#compdef rephase", "fish": "complete -c rephase"} {
		out, _, status := run(t, bin, "completion", shell)
		if status != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, no %q in %.200q", shell, status, marker, out)
		}
	}
	out, _, _ = run(t, bin, "__complete", "invert", "--n-f")
	if !strings.Contains(out, "--n-fft") {
		t.Errorf("completion of invert --n-f: %q", out)
	}
	out, _, _ = run(t, bin, "__complete", "stream", "--warm-start", "")
	for _, v := range []string{"rtpghi\n", "rtisi\n", "noise\n"} {
		if !strings.Contains(out, v) {
			t.Errorf("completion of stream --warm-start lacks %q: %q", v, out)
		}
	}
}

func TestSuggestFlag(t *testing.T) {
	fs := newFlagSet("x", "x", "")
	fs.Int("n-fft", 0, "")
	fs.Int("hop", 0, "")
	fs.Int("iters-per-hop", 0, "")
	for name, want := range map[string]string{"nfft": "n-fft", "N-FFT": "n-fft", "hp": "hop", "iters-per-ho": "iters-per-hop", "lookahead": ""} {
		if got := suggestFlag(fs, name); got != want {
			t.Errorf("suggestFlag(%q) = %q, want %q", name, got, want)
		}
	}
	if d := levenshtein("kitten", "sitting"); d != 3 {
		t.Errorf("levenshtein(kitten, sitting) = %d, want 3", d)
	}
	if v := valuesOf("initial phase: zero | random | pghi (default)"); strings.Join(v, ",") != "zero,random,pghi" {
		t.Errorf("valuesOf: %q", v)
	}
	if v := valuesOf("audio source: DEVICE | FILE.wav"); v != nil {
		t.Errorf("valuesOf of placeholders: %q, want nil", v)
	}
}

// TestProgressBars (issue 17 item 6): stream, analyze and synth draw a progress bar on stderr
// with --progress on, none with auto when stderr is not a terminal (a pipe here), and reject an
// unknown mode with status 2. The audio and reports are unchanged by the bar (stdout is clean).
func TestProgressBars(t *testing.T) {
	bin, dir, in := cliFixture(t, 4*8000)
	frames := filepath.Join(dir, "in.frames")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"stream", []string{"stream", in, "-o", filepath.Join(dir, "s.wav"), "--iters-per-hop", "1"}},
		{"analyze", []string{"analyze", in, "-o", frames}},
		{"synth", []string{"synth", "-i", frames, "-o", filepath.Join(dir, "y.wav"), "--iters-per-hop", "1"}},
	} {
		for mode, want := range map[string]bool{"on": true, "auto": false, "off": false} {
			out, errOut, status := run(t, bin, append(c.args, "--progress", mode)...)
			if got := strings.Contains(errOut, c.name+" ") && strings.Contains(errOut, "%"); status != 0 || got != want {
				t.Errorf("%s --progress %s: exit %d, bar drawn %v, want %v; stderr %q", c.name, mode, status, got, want, errOut)
			}
			if strings.Contains(out, "%") && strings.Contains(out, "|") {
				t.Errorf("%s --progress %s: the bar went to stdout: %q", c.name, mode, out)
			}
		}
		if _, _, status := run(t, bin, append(c.args, "--progress", "sometimes")...); status != 2 {
			t.Errorf("%s --progress sometimes: exit %d, want 2", c.name, status)
		}
	}
	if _, _, status := run(t, bin, "analyze", in, "-o", filepath.Join(dir, "m.npy"), "--progress", "sometimes"); status != 2 {
		t.Errorf("analyze to .npy --progress sometimes: exit %d, want 2", status)
	}
}

// TestListDevicesWithoutServerIsQuiet (issue 17 item 6): live --list-devices prints none of the
// ALSA/JACK probing noise; with no device at all (no sound card, and no JACK server under the
// name asked for) it says so in one line with how to start a server, and exits 1.
func TestListDevicesWithoutServerIsQuiet(t *testing.T) {
	if !haveCgo {
		t.Skip("no PortAudio without cgo")
	}
	bin := buildRephase(t)
	cmd := exec.Command(bin, "live", "--list-devices")
	cmd.Env = append(cmd.Environ(), "JACK_DEFAULT_SERVER=rephase-test-no-such-server")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if strings.Contains(e.String(), "ALSA lib") || strings.Contains(e.String(), "jack") && !strings.Contains(e.String(), "jackd -d dummy") {
		t.Errorf("library noise on stderr:\n%s", e.String())
	}
	if strings.Count(o.String(), "\n") > 1 { // devices: a sound card, or a PulseAudio/PipeWire server
		t.Logf("devices present, the no-server message is not checked:\n%s", o.String())
		return
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Count(e.String(), "\n") != 1 ||
		!strings.Contains(e.String(), "no audio server") || !strings.Contains(e.String(), "jackd -d dummy") {
		t.Errorf("no devices: %v, stdout %q, stderr %q; want exit 1 and one line naming jackd -d dummy", err, o.String(), e.String())
	}
}

// TestShortAndAliasedOutputs: -o, and --output for --out (live: --out for --output, synth: --input
// for --in), name the same flag; -o - sends the WAV to stdout and the report to stderr.
func TestShortAndAliasedOutputs(t *testing.T) {
	bin, dir, in := cliFixture(t, 4000)
	frames := filepath.Join(dir, "in.frames")
	for _, args := range [][]string{
		{"stream", in, "--output", filepath.Join(dir, "a.wav"), "--iters-per-hop", "1"},
		{"analyze", in, "--output", frames},
		{"synth", "--input", frames, "-o", filepath.Join(dir, "b.wav"), "--iters-per-hop", "1"},
		{"live", "-i", in, "--out", filepath.Join(dir, "c.wav"), "--quiet", "--iters-per-hop", "1"},
		{"invert", in, "--output=" + filepath.Join(dir, "d.wav"), "--iters", "1"},
	} {
		if _, errOut, status := run(t, bin, args...); status != 0 {
			t.Errorf("%v: exit %d: %s", args, status, errOut)
		}
	}
	out, errOut, status := run(t, bin, "stream", in, "-o", "-", "--iters-per-hop", "1")
	if status != 0 || !strings.HasPrefix(out, "RIFF") || !strings.Contains(errOut, "→ -") {
		t.Errorf("stream -o -: exit %d, stdout %.8q, stderr %q: want a WAV on stdout and the report on stderr", status, out, errOut)
	}
	help, _, _ := run(t, bin, "live", "--help")
	if !strings.Contains(help, "aliases: --in for --input, --out for --output") {
		t.Errorf("live --help does not name its aliases:\n%s", help)
	}
}
