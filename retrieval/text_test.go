package retrieval

import (
	"encoding"
	"encoding/json"
	"strings"
	"testing"
)

// TestEnumsRoundTripAsText: every enum marshals to its String, unmarshals from it in any case
// (and a window from its aliases), refuses unknown names and undefined values, and round-trips
// through JSON.
func TestEnumsRoundTripAsText(t *testing.T) {
	type enum interface {
		encoding.TextMarshaler
		String() string
	}
	cases := []struct {
		vals []enum
		ptr  func() encoding.TextUnmarshaler
	}{
		{[]enum{FGLA, GLA, LBFGS, Adam, SGDM, Auto}, func() encoding.TextUnmarshaler { return new(Optimizer) }},
		{[]enum{InitZero, InitRandom, InitPGHI, InitNoise}, func() encoding.TextUnmarshaler { return new(Init) }},
		{[]enum{Hann, Hamming, Blackman, Gaussian, Rectangular}, func() encoding.TextUnmarshaler { return new(Window) }},
		{[]enum{Center, Full, Inner}, func() encoding.TextUnmarshaler { return new(Framing) }},
		{[]enum{Reflect, Zero}, func() encoding.TextUnmarshaler { return new(PadMode) }},
		{[]enum{PeriodicWindow, SymmetricWindow}, func() encoding.TextUnmarshaler { return new(WindowSymmetry) }},
		{[]enum{MaxIterations, Converged, Stalled}, func() encoding.TextUnmarshaler { return new(StopReason) }},
		{[]enum{CentredDifferences, BackwardDifferences}, func() encoding.TextUnmarshaler { return new(TimeDifferences) }},
		{[]enum{Periodic, Symmetric}, func() encoding.TextUnmarshaler { return new(Boundary) }},
	}
	for _, c := range cases {
		for _, v := range c.vals {
			b, err := v.MarshalText()
			if err != nil || string(b) != v.String() {
				t.Errorf("%v: MarshalText %q, %v", v, b, err)
			}
			p := c.ptr()
			if err := p.UnmarshalText([]byte(" " + strings.ToUpper(string(b)) + " ")); err != nil || p.(interface{ String() string }).String() != v.String() {
				t.Errorf("%v: UnmarshalText of %q gave %v, %v", v, strings.ToUpper(string(b)), p, err)
			}
		}
		if err := c.ptr().UnmarshalText([]byte("nonsense")); err == nil {
			t.Errorf("%T accepted \"nonsense\"", c.ptr())
		}
	}
	var w Window
	if err := w.UnmarshalText([]byte("hanning")); err != nil || w != Hann {
		t.Errorf("window alias hanning: %v, %v", w, err)
	}
	if _, err := Optimizer(len(optimizerNames)).MarshalText(); err == nil {
		t.Error("an undefined optimizer marshalled")
	}
	if s := Optimizer(-1).String(); s != "unknown(-1)" {
		t.Errorf("Optimizer(-1).String() = %q", s)
	}
	type opts struct {
		Method  Optimizer `json:"method"`
		Window  Window    `json:"window"`
		Framing Framing   `json:"framing"`
	}
	b, err := json.Marshal(opts{LBFGS, Blackman, Inner})
	if err != nil || string(b) != `{"method":"lbfgs","window":"blackman","framing":"inner"}` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	var back opts
	if err := json.Unmarshal(b, &back); err != nil || back != (opts{LBFGS, Blackman, Inner}) {
		t.Fatalf("JSON round trip %+v, %v", back, err)
	}
}
