package retrieval

import (
	"fmt"

	"github.com/rephase/rephase/internal/enum"
)

// Text forms of the package's enums (encoding.TextMarshaler and TextUnmarshaler), so that flags
// can use flag.TextVar and JSON round-trips: every enum marshals to its String and unmarshals
// case-insensitively from the same names (a window also from its aliases, see ParseWindow).
// Marshalling a value outside the enum is an error.

// namesOf returns the Strings of the values 0 … n−1 of an enum.
func namesOf[T ~int](n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprint(T(i))
	}
	return names
}

// textOf returns the name of value v of an enum of n values whose names String gives
// (internal/enum's Marshal).
func textOf[T ~int](v T, n int, what string) ([]byte, error) {
	return enum.Marshal(namesOf[T](n), int(v), "retrieval", what)
}

// parseText sets *dst to the value 0 … n−1 whose String equals b, ignoring case and surrounding
// space, or returns an error listing the names (internal/enum's Parse).
func parseText[T ~int](dst *T, b []byte, n int, what string) error {
	return enum.Unmarshal(dst, namesOf[T](n), b, "retrieval", what)
}

// MarshalText implements encoding.TextMarshaler.
func (o Optimizer) MarshalText() ([]byte, error) {
	return textOf(o, len(optimizerNames), "optimizer")
}

// UnmarshalText implements encoding.TextUnmarshaler (the names of ParseOptimizer, any case).
func (o *Optimizer) UnmarshalText(b []byte) error {
	return parseText(o, b, len(optimizerNames), "optimizer")
}

// MarshalText implements encoding.TextMarshaler.
func (i Init) MarshalText() ([]byte, error) { return textOf(i, len(initNames), "init") }

// UnmarshalText implements encoding.TextUnmarshaler ("zero", "random", "pghi" or "noise").
func (i *Init) UnmarshalText(b []byte) error { return parseText(i, b, len(initNames), "init") }

// MarshalText implements encoding.TextMarshaler.
func (w Window) MarshalText() ([]byte, error) { return textOf(w, len(windowNames), "window") }

// UnmarshalText implements encoding.TextUnmarshaler (the names and aliases of ParseWindow).
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err == nil {
		*w = v
	}
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (s WindowSymmetry) MarshalText() ([]byte, error) {
	return textOf(s, len(windowSymmetryNames), "window symmetry")
}

// UnmarshalText implements encoding.TextUnmarshaler ("periodic" or "symmetric").
func (s *WindowSymmetry) UnmarshalText(b []byte) error {
	return parseText(s, b, len(windowSymmetryNames), "window symmetry")
}

// MarshalText implements encoding.TextMarshaler.
func (d TimeDifferences) MarshalText() ([]byte, error) {
	return textOf(d, len(timeDifferencesNames), "time differences")
}

// UnmarshalText implements encoding.TextUnmarshaler ("centred" or "backward").
func (d *TimeDifferences) UnmarshalText(b []byte) error {
	return parseText(d, b, len(timeDifferencesNames), "time differences")
}

// MarshalText implements encoding.TextMarshaler.
func (r StopReason) MarshalText() ([]byte, error) {
	return textOf(r, len(stopReasonNames), "stop reason")
}

// UnmarshalText implements encoding.TextUnmarshaler ("max iterations", "converged" or "stalled").
func (r *StopReason) UnmarshalText(b []byte) error {
	return parseText(r, b, len(stopReasonNames), "stop reason")
}

// MarshalText implements encoding.TextMarshaler.
func (f Framing) MarshalText() ([]byte, error) { return textOf(f, 3, "framing") }

// UnmarshalText implements encoding.TextUnmarshaler ("center", "full" or "inner").
func (f *Framing) UnmarshalText(b []byte) error { return parseText(f, b, 3, "framing") }

// MarshalText implements encoding.TextMarshaler.
func (p PadMode) MarshalText() ([]byte, error) { return textOf(p, 2, "pad mode") }

// UnmarshalText implements encoding.TextUnmarshaler ("reflect" or "zero").
func (p *PadMode) UnmarshalText(b []byte) error { return parseText(p, b, 2, "pad mode") }

// MarshalText implements encoding.TextMarshaler.
func (b Boundary) MarshalText() ([]byte, error) { return textOf(b, 2, "boundary") }

// UnmarshalText implements encoding.TextUnmarshaler ("periodic" or "symmetric").
func (b *Boundary) UnmarshalText(t []byte) error { return parseText(b, t, 2, "boundary") }
