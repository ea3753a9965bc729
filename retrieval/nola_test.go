package retrieval

import (
	"strings"
	"testing"
)

// TestResolveChecksNOLA: issue 14 item 8 — Hann with hop = n_fft left the frame edges
// unconstrained (an output peak of 2441 for an input peak of 0.4). The verdicts are
// scipy.signal.check_NOLA's for the same periodic windows.
func TestResolveChecksNOLA(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{NFFT: 512, Hop: 512}, false},                     // Hann: w[0] = 0 in every frame
		{Config{NFFT: 512, Hop: 512, Window: Blackman}, false},   // w[0] = 0 too
		{Config{NFFT: 512, WinLength: 400, Hop: 400}, false},     // zero-padded Hann, hop = win_length
		{Config{NFFT: 16, Hop: 16, Framing: Full}, false},        // whatever the framing
		{Config{NFFT: 512, Hop: 511}, true},                      // every sample in two frames
		{Config{NFFT: 512, Hop: 256}, true},                      // 50 % overlap
		{Config{NFFT: 512, Hop: 512, Window: Hamming}, true},     // w[0] = 0.08
		{Config{NFFT: 512, Hop: 512, Window: Rectangular}, true}, // plain block transform
		{Config{NFFT: 512, Hop: 512, Window: Gaussian}, true},
		{Config{NFFT: 512}, true}, // the default hop n_fft/4
	} {
		_, err := c.cfg.Resolve()
		if (err == nil) != c.ok {
			t.Errorf("%+v: Resolve error %v, want NOLA satisfied = %v", c.cfg, err, c.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "NOLA") || !strings.Contains(err.Error(), "hop")) {
			t.Errorf("%+v: error %q does not name NOLA and the hop", c.cfg, err)
		}
		if _, err2 := NewSTFT(c.cfg, 4096); (err2 == nil) != c.ok {
			t.Errorf("%+v: NewSTFT error %v", c.cfg, err2)
		}
	}
}
