package effect

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rephase/rephase/retrieval"
)

// Syntax is the effect spec grammar that Parse accepts, for command-line help.
const Syntax = `pitch:SEMITONES (e.g. pitch:+12) | gate:THRESHOLD_DB[:REDUCTION_DB] (e.g. gate:12, gate:12:-30) | ` +
	`gain:LO-HI:DB (e.g. gain:300-3000:+6) | stretch:FACTOR (e.g. stretch:2; file mode only)`

// Parse builds one effect from a spec (see Syntax) for the STFT cfg (resolved) at sampleRate Hz.
// A time stretch is an Effect with Stretch() ≠ 1; whether its frame-rate change is allowed is the
// caller's decision (see NewChain).
func Parse(spec string, cfg retrieval.Config, sampleRate float64) (Effect, error) {
	name, arg, _ := strings.Cut(strings.TrimSpace(spec), ":")
	bins := cfg.NFFT/2 + 1
	num := func(s string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("effect %q: %q is not a number (%s)", spec, s, Syntax)
		}
		return v, nil
	}
	switch strings.ToLower(name) {
	case "pitch":
		st, err := num(arg)
		if err != nil {
			return nil, err
		}
		return asEffect(NewPitchShift(st, bins))
	case "gate":
		thr, red, hasRed := strings.Cut(arg, ":")
		t, err := num(thr)
		if err != nil {
			return nil, err
		}
		r := math.Inf(-1)
		if hasRed {
			if r, err = num(red); err != nil {
				return nil, err
			}
		}
		return asEffect(NewGate(t, r, bins, float64(cfg.Hop)/sampleRate))
	case "gain":
		band, db, ok := strings.Cut(arg, ":")
		lo, hi, ok2 := strings.Cut(band, "-")
		if !ok || !ok2 {
			return nil, fmt.Errorf("effect %q: want gain:LO-HI:DB (%s)", spec, Syntax)
		}
		l, err := num(lo)
		if err != nil {
			return nil, err
		}
		h, err := num(hi)
		if err != nil {
			return nil, err
		}
		d, err := num(db)
		if err != nil {
			return nil, err
		}
		return asEffect(NewBandGain(l, h, d, cfg.NFFT, sampleRate))
	case "stretch":
		f, err := num(arg)
		if err != nil {
			return nil, err
		}
		return asEffect(NewTimeStretch(f, bins))
	}
	return nil, fmt.Errorf("effect %q: unknown effect (%s)", spec, Syntax)
}

// asEffect returns a constructor's result as an Effect, nil (not a typed nil) on error.
func asEffect[E Effect](e E, err error) (Effect, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

// FrameRate says whether a chain may change the frame rate.
type FrameRate int

const (
	// FixedFrameRate: a device clock fixes the frame rate (real time), so a time stretch is
	// refused.
	FixedFrameRate FrameRate = iota
	// FreeFrameRate: files, where a time stretch may change the number of frames.
	FreeFrameRate
)

// Chain applies effects in order to each frame. At most one of them may stretch time; effects
// before it see input frames, effects after it each of the frames it produces. A Chain is an
// Effect itself.
type Chain struct {
	stages []Effect
	one    [][]float64
}

// NewChain parses specs in order (see Parse). With FixedFrameRate a time stretch is refused
// (real-time mode, where the device clock fixes the frame rate).
func NewChain(specs []string, cfg retrieval.Config, sampleRate float64, rate FrameRate) (*Chain, error) {
	c := &Chain{one: make([][]float64, 1)}
	stretched := false
	for _, s := range specs {
		e, err := Parse(s, cfg, sampleRate)
		if err != nil {
			return nil, err
		}
		if e.Stretch() != 1 {
			if rate == FixedFrameRate {
				return nil, fmt.Errorf("effect %q: time stretch changes the frame rate, so it runs in file mode only (file input and file output)", s)
			}
			if stretched {
				return nil, fmt.Errorf("effect %q: only one stretch per chain", s)
			}
			stretched = true
		}
		c.stages = append(c.stages, e)
	}
	return c, nil
}

// Push applies the chain to one analysed frame (modified in place) and returns the frames to
// resynthesise, as views valid until the next Push (one frame without a stretch). No allocation.
func (c *Chain) Push(mag []float64) [][]float64 {
	c.one[0] = mag
	frames := c.one
	for _, e := range c.stages {
		if len(frames) == 1 { // before the stretch, or a stretch that gave one frame
			frames = e.Push(frames[0])
			continue
		}
		for _, f := range frames { // after the one stretch: effects of frame rate 1, in place
			e.Push(f)
		}
	}
	return frames
}

// Stretch returns the chain's time-stretch factor (1 without a stretch).
func (c *Chain) Stretch() float64 {
	f := 1.0
	for _, e := range c.stages {
		f *= e.Stretch()
	}
	return f
}

// Reset resets every effect.
func (c *Chain) Reset() {
	for _, e := range c.stages {
		e.Reset()
	}
}

// String lists the effects in order.
func (c *Chain) String() string {
	if len(c.stages) == 0 {
		return "none"
	}
	names := make([]string, len(c.stages))
	for i, e := range c.stages {
		names[i] = e.String()
	}
	return strings.Join(names, ", ")
}
