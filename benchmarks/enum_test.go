package benchmarks

import (
	"encoding"
	"strings"
	"testing"
)

// TestInputEnumsAsText: Drums and SpeechInput marshal to their names and parse them in any case;
// undefined values and unknown names are errors.
func TestInputEnumsAsText(t *testing.T) {
	type enum interface {
		encoding.TextMarshaler
		String() string
	}
	for _, c := range []struct {
		vals []enum
		ptr  func() encoding.TextUnmarshaler
	}{
		{[]enum{NoDrums, WithDrums}, func() encoding.TextUnmarshaler { return new(Drums) }},
		{[]enum{NoSpeech, WithSpeech}, func() encoding.TextUnmarshaler { return new(SpeechInput) }},
	} {
		for _, v := range c.vals {
			b, err := v.MarshalText()
			p := c.ptr()
			if err != nil || p.UnmarshalText([]byte(strings.ToUpper(string(b)))) != nil || p.(enum).String() != v.String() {
				t.Errorf("%v: %q, %v, back %v", v, b, err, p)
			}
		}
		if c.ptr().UnmarshalText([]byte("cowbell")) == nil {
			t.Errorf("%T parsed an unknown name", c.ptr())
		}
	}
	if _, err := Drums(2).MarshalText(); err == nil {
		t.Error("an undefined Drums marshalled")
	}
}
