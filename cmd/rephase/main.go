// Command rephase turns STFT magnitudes back into sound.
//
//	rephase demo                      MATLAB's exponential-chirp example on an embedded input
//	rephase invert IN.{wav,npy} --out OUT.wav [options]
//	rephase stream IN.wav --out OUT.wav [--lookahead 3 --iters-per-hop 16 | --budget 0.5] [--realtime]
//	rephase analyze IN.wav > frames;  rephase synth --out OUT.wav|- < frames
//	rephase live --input DEVICE|FILE.wav|sine:FREQ --output DEVICE|FILE.wav [--effect pitch:+12]...
//
//	rephase help CMD | rephase CMD --help;  rephase --version;  rephase completion bash|zsh|fish
//
// Every command prints a human table by default and one JSON object with --json. Usage errors and
// bad input exit with status 2 and one line naming the flag, or the file and the position; other
// failures exit with 1. The command line is cobra + pflag (cli.go).
package main

// The command line: spf13/cobra for the command tree, `rephase help CMD`, --version and shell
// completion; spf13/pflag (GNU style: --n-fft, -o) for every command's flags.
//
// Why cobra+pflag rather than urfave/cli v3 (the alternative considered; kong, with flags from
// struct tags, is similar in this respect): all three are maintained and generate shell
// completion. pflag is a near drop-in for the standard flag package (FlagSet, Visit, TextVar),
// so every command kept its flag definitions and logic and only changed package, while urfave's
// flags are struct literals read back through the command (cmd.Int("n-fft"), cmd.IsSet), a
// rewrite of every command; and cobra+pflag is what kubectl, gh and hugo use, so their help,
// --long/-s parsing and completion are what users of Go CLIs already know.
//
// Each command still defines and parses its own pflag.FlagSet in its run function (cobra's
// DisableFlagParsing), because invert chooses between two flag sets (STFT and mel, with different
// defaults for --n-fft, --sr, --method) from its arguments, which one cobra FlagSet per command
// cannot express, and because the tests call the run functions directly. Cobra is told each
// command's flags only for completion (flagsOf).

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rephase/rephase/internal/outfile"
)

// inputError marks errors caused by the user's data or arguments (exit status 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

// commands are the subcommands in the order of `rephase help`; run parses its own flags
// (newFlagSet, parseFlags) from the arguments after the command name.
var commands = []struct {
	name, short string
	run         func(args []string) error
	cleanUp     bool // remove temporary outputs on SIGINT/SIGTERM (cleanUpOnSignal)
}{
	{"demo", "invert MATLAB's exponential-chirp example with L-BFGS, GLA, FGLA and PGHI→FGLA; write ./rephase-demo/", runDemo, true},
	{"invert", "offline inversion: WAV (magnitudes of its STFT) or .npy magnitudes in, WAV out", runInvert, true},
	{"stream", "the streaming engine, WAV to WAV (optionally paced in real time through ring buffers)", runStream, false},
	{"analyze", "WAV → frame stream of STFT magnitudes on stdout (docs/frame-stream.md)", runAnalyze, false},
	{"synth", "frame stream on stdin → streaming engine → WAV, or raw PCM on stdout", runSynth, false},
	{"live", "real-time vocoder: device/file/sine → effects → streaming engine → device/file (PortAudio)", runLive, false},
	{"bench", "the benchmark matrix: quality, latency, speed; writes benchmarks/REPORT.md with plots", runBench, false},
}

// newRoot builds the command tree. A command's RunE error that is not an inputError is a
// runtime failure; cobra's own errors (unknown command, bad root flag) are usage errors.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "rephase",
		Short: "turn STFT magnitudes back into sound",
		Long: "rephase turns STFT magnitudes back into sound, offline (invert) and streaming (stream,\n" +
			"analyze | synth, live). Every command prints a human table, or one JSON object with --json.\n" +
			"Exit status: 0 ok, 2 usage or bad input, 1 runtime failure.",
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			c.SetOut(os.Stderr)
			c.Help()
			return badInput("need a command")
		},
	}
	cobra.EnableCommandSorting = false // the order of commands
	root.SetVersionTemplate("rephase {{.Version}}\n")
	completing := len(os.Args) > 1 && (os.Args[1] == cobra.ShellCompRequestCmd || os.Args[1] == cobra.ShellCompNoDescRequestCmd)
	for _, c := range commands {
		cmd := &cobra.Command{
			Use:                c.name,
			Short:              c.short,
			DisableFlagParsing: true, // the command's own pflag.FlagSet (cli.go)
			RunE: func(_ *cobra.Command, args []string) error {
				if c.cleanUp {
					cleanUpOnSignal()
				}
				return commandError{c.run(args)}
			},
			ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return completeValue(cmd, args)
			},
		}
		cmd.SetHelpFunc(func(*cobra.Command, []string) { c.run([]string{"--help"}) })
		if completing { // flag names for cobra's completion
			cmd.Flags().AddFlagSet(flagsOf(c.run))
		}
		root.AddCommand(cmd)
	}
	return root
}

// commandError carries the error of a command's run (nil: success) out of cobra, to tell it from
// cobra's usage errors.
type commandError struct{ err error }

func (e commandError) Error() string { return fmt.Sprint(e.err) }
func (e commandError) Unwrap() error { return e.err }

// completeValue completes the value of the flag before the cursor when its usage lists the
// accepted values ("a | b | c"), and file names otherwise.
func completeValue(cmd *cobra.Command, args []string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "--") && !strings.Contains(args[n-1], "=") {
		if f := cmd.Flags().Lookup(args[n-1][2:]); f != nil && f.NoOptDefVal == "" {
			if v := valuesOf(f.Usage); v != nil {
				return v, cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
	return nil, cobra.ShellCompDirectiveDefault
}

func main() {
	if len(os.Args) > 2 && audioToStdout(os.Args[1], os.Args[2:]) {
		outfile.Stdout, os.Stdout = os.Stdout, os.Stderr // reports go to stderr
	}
	err := newRoot().Execute()
	var ce commandError
	isRun := errors.As(err, &ce)
	if isRun {
		err = ce.err
	}
	if err == nil || errors.Is(err, errHelpShown) {
		return
	}
	fmt.Fprintln(os.Stderr, "rephase:", err)
	var ie inputError
	if errors.As(err, &ie) || !isRun {
		os.Exit(2)
	}
	os.Exit(1)
}

// audioToStdout reports whether the command writes a WAV to standard output (--out -, its alias
// --output - or -o - for invert, stream and live, or --record - for live).
func audioToStdout(cmd string, args []string) bool {
	out := []string{"--out", "--output", "-o"} // with the alias (cli.go's aliasPairs)
	flags := map[string][]string{"invert": out, "stream": out, "live": append(out, "--record")}[cmd]
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, f := range flags {
			if a == f+"=-" || (a == f && i+1 < len(args) && args[i+1] == "-") || (len(f) == 2 && a == f+"-") {
				return true
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
