// Command rephase turns STFT magnitudes back into sound.
//
//	rephase demo                      the seeds' experiment on an embedded input (exponential chirp)
//	rephase invert IN.{wav,npy} --out OUT.wav [options]
//
// Every command prints a human table by default and one JSON object with --json. Bad input exits
// with status 2 and an error naming the file and the position; other failures exit with 1.
package main

import (
	"errors"
	"fmt"
	"os"
)

// inputError marks errors caused by the user's data or arguments (exit status 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

const usage = `usage: rephase <command> [options]

commands:
  demo     invert the seeds' exponential chirp with GD, GLA, FGLA and PGHI→FGLA; write ./rephase-demo/
  invert   offline inversion: WAV (magnitudes of its STFT) or .npy magnitudes in, WAV out

Run "rephase <command> -h" for the options of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "demo":
		err = runDemo(os.Args[2:])
	case "invert":
		err = runInvert(os.Args[2:])
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
