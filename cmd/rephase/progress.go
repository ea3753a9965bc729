package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/rephase/rephase/stream/live"
)

// progressUsage is the help of the --progress flag of stream, analyze and synth.
const progressUsage = "progress bar on stderr: auto (inputs over 10 s, when stderr is a terminal) | on | off"

// newProgress returns a progress bar on standard error over the samples of an input of total
// samples per channel (≤ 0: unknown, then a spinner) at rate Hz, or nil when mode is "off", or
// "auto" and stderr is not a terminal or the input is not known to last over 10 s. The bar is
// throttled to 10 updates a second and cleared when finished. An unknown mode is an inputError
// naming cmd.
func newProgress(cmd, mode, desc string, total int64, rate int) (*progressbar.ProgressBar, error) {
	if err := checkProgress(cmd, mode); err != nil {
		return nil, err
	}
	switch {
	case mode == "off":
		return nil, nil
	case mode == "auto" && (total <= 10*int64(rate) || !term.IsTerminal(int(os.Stderr.Fd()))):
		return nil, nil
	}
	if total <= 0 {
		total = -1
	}
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(desc), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish()), nil
}

// progressReader is a live.Reader that moves a progress bar (if not nil) to its position after
// every Read.
type progressReader struct {
	live.Reader
	bar *progressbar.ProgressBar
}

func (p progressReader) Read(dst [][]float64) (int, error) {
	n, err := p.Reader.Read(dst)
	if p.bar != nil {
		p.bar.Set64(p.Reader.Pos())
	}
	return n, err
}

// checkProgress returns an inputError naming cmd unless mode is a --progress value.
func checkProgress(cmd, mode string) error {
	switch mode {
	case "auto", "on", "off":
		return nil
	}
	return badInput("%s: unknown --progress %q (auto | on | off)", cmd, mode)
}
