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
// A TimeStretch is returned as such; the caller decides whether its frame-rate change is allowed.
func Parse(spec string, cfg retrieval.Config, sampleRate float64) (any, error) {
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
		return NewPitchShift(st, bins)
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
		return NewGate(t, r, bins, float64(cfg.Hop)/sampleRate)
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
		return NewBandGain(l, h, d, cfg.NFFT, sampleRate)
	case "stretch":
		f, err := num(arg)
		if err != nil {
			return nil, err
		}
		return NewTimeStretch(f, bins)
	}
	return nil, fmt.Errorf("effect %q: unknown effect (%s)", spec, Syntax)
}

// Chain applies effects in order to each frame. At most one TimeStretch may be in it; effects
// before it see input frames, effects after it see output frames.
type Chain struct {
	pre, post []Effect
	stretch   *TimeStretch
	one       [][]float64
	names     []string
}

// NewChain parses specs in order (see Parse). allowStretch = false rejects stretch (real-time
// mode, where the device clock fixes the frame rate).
func NewChain(specs []string, cfg retrieval.Config, sampleRate float64, allowStretch bool) (*Chain, error) {
	c := &Chain{one: make([][]float64, 1)}
	for _, s := range specs {
		e, err := Parse(s, cfg, sampleRate)
		if err != nil {
			return nil, err
		}
		c.names = append(c.names, fmt.Sprint(e))
		switch e := e.(type) {
		case *TimeStretch:
			if !allowStretch {
				return nil, fmt.Errorf("effect %q: time stretch changes the frame rate, so it runs in file mode only (file input and file output)", s)
			}
			if c.stretch != nil {
				return nil, fmt.Errorf("effect %q: only one stretch per chain", s)
			}
			c.stretch = e
		case Effect:
			if c.stretch == nil {
				c.pre = append(c.pre, e)
			} else {
				c.post = append(c.post, e)
			}
		}
	}
	return c, nil
}

// Push applies the chain to one analysed frame (modified in place) and returns the frames to
// resynthesise, as views valid until the next Push (one frame without a stretch). No allocation.
func (c *Chain) Push(mag []float64) [][]float64 {
	for _, e := range c.pre {
		e.Apply(mag)
	}
	if c.stretch == nil {
		c.one[0] = mag
		return c.one
	}
	out := c.stretch.Push(mag)
	for _, f := range out {
		for _, e := range c.post {
			e.Apply(f)
		}
	}
	return out
}

// Stretch returns the chain's time-stretch factor (1 without a stretch).
func (c *Chain) Stretch() float64 {
	if c.stretch == nil {
		return 1
	}
	return c.stretch.factor
}

// Reset resets every effect.
func (c *Chain) Reset() {
	for _, e := range c.pre {
		e.Reset()
	}
	for _, e := range c.post {
		e.Reset()
	}
	if c.stretch != nil {
		c.stretch.Reset()
	}
}

// String lists the effects in order.
func (c *Chain) String() string {
	if len(c.names) == 0 {
		return "none"
	}
	return strings.Join(c.names, ", ")
}
