package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommandsRun (issue 17): every command line in the README's sh blocks runs as written,
// with small inputs: the rephase binary in place of `go run ./cmd/rephase` and `./rephase`, each
// optional [--flag a|b] as its first alternative, the README's file names bound to files made
// here (speech.wav and in.wav: 1 s of a harmonic tone; mag.npy and mel.npy from analyze; in.flac by
// sox), `your-filter` as cat. Skipped: live runs on the default audio devices, the full bench, and
// go build lines (the binary is built here).
func TestREADMECommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README command")
	}
	bin := buildRephase(t)
	dir := t.TempDir()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Inputs.
	tone := func(i float64) float64 {
		return 0.3*math.Sin(2*math.Pi*220*i/8000) + 0.1*math.Sin(2*math.Pi*(660+0.02*i)*i/8000)
	}
	writeTestWAV(t, filepath.Join(dir, "speech.wav"), 8000, tone)
	for _, name := range []string{"in.wav", "voice.wav", "start.wav"} {
		writeTestWAV(t, filepath.Join(dir, name), 8000, tone)
	}
	setup := [][]string{
		{bin, "analyze", "speech.wav", "--n-fft", "2048", "--hop", "512", "--out", "mag.npy"},
		{bin, "analyze", "speech.wav", "--n-fft", "1024", "--hop", "256", "--n-mels", "80", "--f-max", "4000", "--log", "ln", "--out", "mel.npy"},
		{bin, "analyze", "speech.wav", "--n-fft", "1024", "--hop", "256", "--n-mels", "80", "--f-max", "4000", "--out", "mel-linear.npy"},
	}
	for _, c := range setup {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	haveSox := exec.Command("sox", "--version").Run() == nil
	if haveSox {
		if out, err := exec.Command("sox", filepath.Join(dir, "in.wav"), filepath.Join(dir, "in.flac")).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
	}
	ran := 0
	for _, line := range readmeCommands(string(b)) {
		switch {
		case strings.Contains(line, "rephase live") && strings.Contains(line, "default"),
			strings.Contains(line, "rephase bench") && !strings.Contains(line, "--quick"),
			strings.HasPrefix(line, "go build"), strings.HasPrefix(line, "CGO_ENABLED=0 go build"),
			strings.Contains(line, "sox") && !haveSox:
			continue
		}
		cmd := strings.NewReplacer("go run ./cmd/rephase", bin, "./rephase", bin, "your-filter", "cat").Replace(line)
		if strings.Contains(cmd, "--log none") { // the README's mel line as its first alternatives: no log
			cmd = strings.Replace(cmd, "mel.npy", "mel-linear.npy", 1)
		}
		c := exec.Command("bash", "-o", "pipefail", "-c", cmd)
		c.Dir = dir
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("README line\n  %s\nran as\n  %s\n%v\n%s", line, cmd, err, out)
		}
		ran++
	}
	t.Logf("ran %d README command lines", ran)
	if ran < 10 {
		t.Errorf("only %d README command lines found and run", ran)
	}
}

// readmeCommands returns the command lines of the ```sh blocks of a README: continuation lines
// joined, comments dropped, every [a|b …] optional part replaced by its first alternative.
func readmeCommands(readme string) []string {
	var cmds []string
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readme, -1)
	first := regexp.MustCompile(`\[([^\[\]]*)\]`)
	placeholder := regexp.MustCompile(`\b[A-Z][A-Z0-9]+\b`)
	for _, blk := range blocks {
		text := strings.ReplaceAll(blk[1], "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			if i := strings.Index(line, "  #"); i >= 0 {
				line = line[:i]
			}
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			line = first.ReplaceAllStringFunc(line, func(m string) string {
				// [--a X | --b y]: the first option without a placeholder (an upper-case word).
				alts := strings.Split(m[1:len(m)-1], " | ")
				alt := alts[0]
				for _, a := range alts {
					if !placeholder.MatchString(a) {
						alt = a
						break
					}
				}
				// --flag a|b|c: the first value of each flag.
				words := strings.Fields(alt)
				for j, w := range words {
					if k := strings.Index(w, "|"); k > 0 && !strings.HasPrefix(w, "|") {
						words[j] = w[:k]
					}
				}
				return strings.Join(words, " ")
			})
			cmds = append(cmds, line)
		}
	}
	return cmds
}
