package retrieval

import (
	"fmt"
	"strings"
)

// Text forms of the package's enums (encoding.TextMarshaler and TextUnmarshaler), so that flags
// can use flag.TextVar and JSON round-trips: every enum marshals to its String and unmarshals
// case-insensitively from the same names (a window also from its aliases, see ParseWindow).
// Marshalling a value outside the enum is an error.

// textOf returns the name of value v of an enum of n values whose names String gives.
func textOf[T ~int](v T, n int, what string) ([]byte, error) {
	if int(v) < 0 || int(v) >= n {
		return nil, fmt.Errorf("retrieval: %s %d is not defined", what, int(v))
	}
	return []byte(fmt.Sprint(v)), nil
}

// parseText sets *dst to the value 0 … n−1 whose String equals b, ignoring case and surrounding
// space, or returns an error listing the names.
func parseText[T ~int](dst *T, b []byte, n int, what string) error {
	s := strings.TrimSpace(string(b))
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprint(T(i))
		if strings.EqualFold(s, names[i]) {
			*dst = T(i)
			return nil
		}
	}
	return fmt.Errorf("retrieval: unknown %s %q (want one of %s)", what, s, strings.Join(names, ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (m Method) MarshalText() ([]byte, error) { return textOf(m, len(methodNames), "method") }

// UnmarshalText implements encoding.TextUnmarshaler ("fgla", "gla", "gd" or "auto", any case).
func (m *Method) UnmarshalText(b []byte) error { return parseText(m, b, len(methodNames), "method") }

// MarshalText implements encoding.TextMarshaler.
func (o Optimizer) MarshalText() ([]byte, error) {
	return textOf(o, len(optimizerNames), "optimizer")
}

// UnmarshalText implements encoding.TextUnmarshaler ("lbfgs", "adam" or "sgdm", any case).
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
