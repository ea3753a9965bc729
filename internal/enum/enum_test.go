package enum

import (
	"strings"
	"testing"
)

// TestNameMarshalParse: names round-trip in any case and with surrounding space, values and
// names outside the enum are refused with messages that name the package, the enum and the
// choices.
func TestNameMarshalParse(t *testing.T) {
	names := []string{"alpha", "beta-2"}
	for i, n := range names {
		if Name(names, i) != n {
			t.Errorf("Name(%d) = %q", i, Name(names, i))
		}
		b, err := Marshal(names, i, "pkg", "thing")
		if err != nil || string(b) != n {
			t.Errorf("Marshal(%d) = %q, %v", i, b, err)
		}
		for _, s := range []string{n, strings.ToUpper(n), " \t" + strings.ToUpper(n[:1]) + n[1:] + "\n"} {
			if v, err := Parse(names, s, "pkg", "thing"); err != nil || v != i {
				t.Errorf("Parse(%q) = %d, %v", s, v, err)
			}
		}
	}
	for _, v := range []int{-1, len(names)} {
		if got, want := Name(names, v), "unknown("; !strings.HasPrefix(got, want) {
			t.Errorf("Name(%d) = %q", v, got)
		}
		if _, err := Marshal(names, v, "pkg", "thing"); err == nil || !strings.HasPrefix(err.Error(), "pkg: thing ") {
			t.Errorf("Marshal(%d): %v", v, err)
		}
	}
	_, err := Parse(names, "gamma", "pkg", "thing")
	if err == nil || !strings.Contains(err.Error(), `pkg: unknown thing "gamma"`) || !strings.Contains(err.Error(), "alpha, beta-2") {
		t.Errorf("Parse(gamma): %v", err)
	}
}

// TestUnmarshal sets the value a name parses to and leaves it alone on an unknown name.
func TestUnmarshal(t *testing.T) {
	type kind int
	names := []string{"a", "b"}
	k := kind(0)
	if err := Unmarshal(&k, names, []byte(" B "), "pkg", "kind"); err != nil || k != 1 {
		t.Errorf("Unmarshal(B) = %d, %v", k, err)
	}
	if err := Unmarshal(&k, names, []byte("c"), "pkg", "kind"); err == nil || k != 1 {
		t.Errorf("Unmarshal(c) = %d, %v", k, err)
	}
}
