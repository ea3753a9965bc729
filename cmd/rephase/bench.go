package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/rephase/rephase/benchmarks"
)

// runBench runs the benchmark matrix (benchmarks.Run) and writes the report with its plots.
func runBench(args []string) error {
	fs := newFlagSet("bench", "bench [--quick] [--out DIR] [--json]",
		"Measures offline and streaming reconstruction over inputs × configurations × methods, the per-hop\n"+
			"cost scaling and the concurrent streams per core, and writes DIR/REPORT.md with DIR/plots/*.png.\n"+
			"--quick runs a few small cases (a smoke test: it checks that everything runs, never a timing).")
	quick := fs.Bool("quick", false, "a few small cases, under a minute")
	out := fs.StringP("out", "o", "", "`DIR` for REPORT.md and plots/ (default: benchmarks for a full run, a temporary directory with --quick)")
	static := fs.String("static", "", "`FILE` of hand-maintained report sections appended to REPORT.md (default: benchmarks/report_static.md when present)")
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	progress := fs.String("progress", "auto", "progress bar on stderr: auto (when stderr is a terminal) | on | off")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return badInput("bench: unexpected argument %q", fs.Arg(0))
	}
	dir := *out
	if dir == "" {
		if *quick {
			d, err := os.MkdirTemp("", "rephase-bench-quick")
			if err != nil {
				return err
			}
			dir = d
		} else {
			dir = "benchmarks"
		}
	}
	st := *static
	if st == "" {
		if _, err := os.Stat(filepath.Join("benchmarks", "report_static.md")); err == nil {
			st = filepath.Join("benchmarks", "report_static.md")
		}
	}
	opt := benchmarks.Options{Quick: *quick}
	switch *progress {
	case "on":
		opt.Progress = os.Stderr
	case "auto":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			opt.Progress = os.Stderr
		}
	case "off":
	default:
		return badInput("bench: unknown --progress %q", *progress)
	}
	r, err := benchmarks.Run(opt)
	if err != nil {
		return err
	}
	if err := benchmarks.WriteReport(r, dir, st); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"report": filepath.Join(dir, "REPORT.md"), "results": r})
	}
	r.Summary(os.Stdout)
	fmt.Printf("report: %s\n", filepath.Join(dir, "REPORT.md"))
	return nil
}
