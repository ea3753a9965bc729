package fft

import (
	"strings"
	"testing"
)

// TestPlanningAsText: the planning modes marshal to their names and parse them in any case; an
// undefined mode prints as unknown(N) and does not marshal; an unknown name is an error that
// leaves the value alone.
func TestPlanningAsText(t *testing.T) {
	for _, p := range []Planning{Wisdom, Estimate, Measure} {
		b, err := p.MarshalText()
		var back Planning
		if err != nil || back.UnmarshalText([]byte(" "+strings.ToUpper(string(b)))) != nil || back != p {
			t.Errorf("%v: %q, %v, back %v", p, b, err, back)
		}
	}
	if _, err := Planning(7).MarshalText(); err == nil || Planning(7).String() != "unknown(7)" {
		t.Errorf("Planning(7): %q, %v", Planning(7).String(), err)
	}
	p := Measure
	if p.UnmarshalText([]byte("patient")) == nil || p != Measure {
		t.Errorf("an unknown mode parsed, or changed the value to %v", p)
	}
}
