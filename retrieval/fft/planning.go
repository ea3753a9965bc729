package fft

import (
	"fmt"
	"os"
	"sync/atomic"

	"github.com/rephase/rephase/internal/enum"
)

// Planning selects how the FFTW backend chooses its algorithms for plans made afterwards. The
// gonum backend has one algorithm per length and ignores it.
type Planning int

const (
	// Wisdom (the default) measures like Measure the first time a length is planned on this
	// machine, and keeps FFTW's record of the choice (its "wisdom") in a file in the user's cache
	// directory (os.UserCacheDir()/rephase/fftw-wisdom; $REPHASE_FFTW_WISDOM overrides the path).
	// Every later plan of that length, in this process or another, is made from that record, so
	// runs are reproducible bit for bit on the machine and as fast as Measure. The file is locked
	// while it is used, so that concurrent processes measure a length once. Without a writable
	// cache directory it falls back to Estimate. Delete the file to measure again.
	Wisdom Planning = iota
	// Estimate picks FFTW's algorithm by its heuristics (FFTW_ESTIMATE). The plan is a
	// function of the length, the FFTW build and the CPU only, so every run computes the same
	// bits, with no file kept; at n_fft 512–1024 it runs about 1.3× slower than Measure.
	Estimate
	// Measure times candidate algorithms while planning (FFTW_MEASURE) and keeps the fastest.
	// Planning takes milliseconds per length, and two processes may pick different algorithms
	// whose rounding differs in the last bit; the non-convex phase-retrieval optimizers amplify
	// such differences, so results are not reproducible between runs. benchmarks/REPORT.md
	// gives the speed it buys.
	Measure
)

var planning atomic.Int32

// SetPlanning sets the planning mode of plans made from now on (New, NewCmplx); plans already
// made keep theirs. Safe for concurrent use.
func SetPlanning(p Planning) {
	if p < Wisdom || p > Measure {
		panic(fmt.Sprintf("fft: unknown planning mode %d", int(p)))
	}
	planning.Store(int32(p))
}

// CurrentPlanning returns the mode set by SetPlanning (Wisdom unless changed).
func CurrentPlanning() Planning { return currentPlanning() }

func currentPlanning() Planning { return Planning(planning.Load()) }

var planningNames = [...]string{"wisdom", "estimate", "measure"}

// String returns "wisdom", "estimate" or "measure", or "unknown(N)" (internal/enum).
func (p Planning) String() string { return enum.Name(planningNames[:], int(p)) }

// MarshalText implements encoding.TextMarshaler: the mode's name; an error outside the enum.
func (p Planning) MarshalText() ([]byte, error) {
	return enum.Marshal(planningNames[:], int(p), "fft", "planning mode")
}

// UnmarshalText implements encoding.TextUnmarshaler: "wisdom", "estimate" or "measure", any case.
func (p *Planning) UnmarshalText(b []byte) error {
	return enum.Unmarshal(p, planningNames[:], b, "fft", "planning mode")
}

// init reads the planning mode from $REPHASE_FFT_PLANNING ("wisdom", "estimate" or "measure"),
// so that any program using the package, the rephase command among them, can be switched
// without code. An unknown value is ignored with a warning on stderr.
func init() {
	v := os.Getenv("REPHASE_FFT_PLANNING")
	if v == "" {
		return
	}
	var p Planning
	if err := p.UnmarshalText([]byte(v)); err != nil {
		fmt.Fprintf(os.Stderr, "%v; REPHASE_FFT_PLANNING ignored\n", err)
		return
	}
	SetPlanning(p)
}
