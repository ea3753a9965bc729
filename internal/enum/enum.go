// Package enum is the one text form of rephase's enums (retrieval's and stream's): a value's
// String is its name, a value outside the enum prints as "unknown(N)", and the text forms
// (encoding.TextMarshaler, TextUnmarshaler) marshal the name and parse any case with the
// surrounding space ignored. docs/design.md, "Conventions".
package enum

import (
	"fmt"
	"strings"
)

// Name returns names[v], or "unknown(v)" for a value outside [0, len(names)). It does not
// allocate for a defined value.
func Name(names []string, v int) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("unknown(%d)", v)
	}
	return names[v]
}

// Marshal returns names[v] as bytes, or an error "PKG: WHAT N is not defined" for a value outside
// the enum (pkg and what name the package and the enum in the message).
func Marshal(names []string, v int, pkg, what string) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, fmt.Errorf("%s: %s %d is not defined", pkg, what, v)
	}
	return []byte(names[v]), nil
}

// Unmarshal sets *dst to the value Parse finds for the text b, or leaves it and returns Parse's
// error: the body of an enum's UnmarshalText.
func Unmarshal[T ~int](dst *T, names []string, b []byte, pkg, what string) error {
	i, err := Parse(names, string(b), pkg, what)
	if err == nil {
		*dst = T(i)
	}
	return err
}

// Parse returns the index of the name that equals s, ignoring case and surrounding space, or an
// error "PKG: unknown WHAT "s" (want one of a, b, …)".
func Parse(names []string, s, pkg, what string) (int, error) {
	t := strings.TrimSpace(s)
	for i, n := range names {
		if strings.EqualFold(t, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: unknown %s %q (want one of %s)", pkg, what, t, strings.Join(names, ", "))
}
