package wav

import (
	"math"
	"testing"
)

// s16Cases pin S16's rounding, clamping and NaN.
var s16Cases = map[float64]int16{
	0: 0, 1: 32767, 2: 32767, -1: -32768, -3: -32768, 0.5: 16384, -0.5: -16384,
	1.4 / 32768: 1, 1.6 / 32768: 2, math.Inf(1): 32767, math.Inf(-1): -32768,
}

func TestS16(t *testing.T) {
	for v, want := range s16Cases {
		if got := S16(v); got != want {
			t.Errorf("S16(%v) = %d, want %d", v, got, want)
		}
	}
	if got := S16(math.NaN()); got != 0 {
		t.Errorf("S16(NaN) = %d, want 0", got)
	}
	// The inverse of Read's scaling: every 16-bit code survives q/32768 → S16.
	for q := -32768; q <= 32767; q++ {
		if got := S16(float64(q) / 32768); int(got) != q {
			t.Fatalf("S16(%d/32768) = %d", q, got)
		}
	}
}
