// Command rephase turns STFT magnitudes back into sound.
//
//	rephase demo                      MATLAB's exponential-chirp example on an embedded input
//	rephase invert IN.{wav,npy} --out OUT.wav [options]
//	rephase stream IN.wav --out OUT.wav [--lookahead 3 --iters-per-hop 16 | --budget 0.5] [--realtime]
//	rephase analyze IN.wav > frames;  rephase synth --out OUT.wav|- < frames
//	rephase live --input DEVICE|FILE.wav|sine:FREQ --output DEVICE|FILE.wav [--effect pitch:+12]...
//
// Every command prints a human table by default and one JSON object with --json. Bad input exits
// with status 2 and an error naming the file and the position; other failures exit with 1.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rephase/rephase/internal/outfile"
)

// inputError marks errors caused by the user's data or arguments (exit status 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

const usage = `usage: rephase <command> [options]

commands:
  demo     invert MATLAB's exponential-chirp example with GD, GLA, FGLA and PGHI→FGLA; write ./rephase-demo/
  invert   offline inversion: WAV (magnitudes of its STFT) or .npy magnitudes in, WAV out
  stream   the streaming engine, WAV to WAV (optionally paced in real time through ring buffers)
  analyze  WAV → frame stream of STFT magnitudes on stdout (docs/frame-stream.md)
  synth    frame stream on stdin → streaming engine → WAV, or raw PCM on stdout
  live     real-time vocoder: device/file/sine → effects → streaming engine → device/file (PortAudio)
  bench    the benchmark matrix: quality, latency, speed; writes benchmarks/REPORT.md with plots

Run "rephase <command> -h" for the options of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if audioToStdout(os.Args[1], os.Args[2:]) {
		outfile.Stdout, os.Stdout = os.Stdout, os.Stderr // reports go to stderr
	}
	var err error
	switch os.Args[1] {
	case "demo":
		cleanUpOnSignal()
		err = runDemo(os.Args[2:])
	case "invert":
		cleanUpOnSignal()
		err = runInvert(os.Args[2:])
	case "stream":
		err = runStream(os.Args[2:])
	case "analyze":
		err = runAnalyze(os.Args[2:])
	case "synth":
		err = runSynth(os.Args[2:])
	case "live":
		err = runLive(os.Args[2:])
	case "bench":
		err = runBench(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "rephase: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rephase:", err)
		var ie inputError
		if errors.As(err, &ie) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// audioToStdout reports whether the command writes a WAV to standard output (--out - for invert
// and stream, --output - or --record - for live).
func audioToStdout(cmd string, args []string) bool {
	flags := map[string][]string{"invert": {"out"}, "stream": {"out"}, "live": {"output", "record"}}[cmd]
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, f := range flags {
			for _, d := range []string{"-", "--"} {
				if a == d+f+"=-" || (a == d+f && i+1 < len(args) && args[i+1] == "-") {
					return true
				}
			}
		}
	}
	return false
}

// cleanUpOnSignal makes SIGINT and SIGTERM remove the temporary files of outputs being written
// (outfile.Cleanup) and then end the process by the same signal, as if it had not been caught.
// For the commands that write their output at the end and have nothing to drain (invert, demo);
// the streaming commands catch both signals themselves and finalise what they produced.
func cleanUpOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-c
		outfile.Cleanup()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(s) == nil {
			time.Sleep(time.Second) // the default action ends the process
		}
		os.Exit(130)
	}()
}
