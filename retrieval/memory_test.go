package retrieval

import (
	"fmt"
	"testing"
)

// bruteOverlapEnergy is the definition of the folded overlap energy: every frame's w² added at
// the sample each of its positions reads (reflected, or nothing for a zero of the padding).
func bruteOverlapEnergy(s *STFT) []float64 {
	d := make([]float64, s.Length())
	n := s.cfg.NFFT
	for m := 0; m < s.Frames(); m++ {
		for i := 0; i < n; i++ {
			t := s.FrameStart(m) + i
			if t < 0 || t >= s.Length() {
				if s.cfg.Framing != Center || s.cfg.Pad != Reflect {
					continue
				}
				t = reflectIndex(t, s.Length())
			}
			d[t] += s.win[i] * s.win[i]
		}
	}
	return d
}

// TestSampleTableMatchesDefinition checks that the stored ends and hop-periodic stretch of the
// overlap energy give, at every sample, the folded Σ_m w²[t − s_m] of the definition, for every
// framing and padding, hops that do and do not divide n_fft, short signals kept whole and long
// ones split; and that Precondition, WindowSumSquare and InversePreconditioner agree with it.
func TestSampleTableMatchesDefinition(t *testing.T) {
	cfgs := []Config{
		{NFFT: 64, Hop: 16},
		{NFFT: 64, Hop: 16, Pad: Zero},
		{NFFT: 64, Hop: 16, Framing: Full},
		{NFFT: 64, Hop: 16, Framing: Inner},
		{NFFT: 64, Hop: 24, WinLength: 48, Window: Hamming},
		{NFFT: 64, Hop: 24, WinLength: 48, Framing: Full},
		{NFFT: 64, Hop: 24, WinLength: 48, Framing: Inner},
		{NFFT: 64, Hop: 7, Window: Blackman, Pad: Zero},
	}
	for _, cfg := range cfgs {
		for _, length := range []int{64, 100, 331, 500, 1000, 4099} {
			name := fmt.Sprintf("%v/%v/hop%d/L%d", cfg.Framing, cfg.Pad, cfg.Hop, length)
			s, err := NewSTFT(cfg, length)
			if err != nil {
				t.Fatal(name, err)
			}
			want := bruteOverlapEnergy(s)
			got := s.WindowSumSquare()
			for i := range want {
				if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
					t.Fatalf("%s: overlap energy at %d is %v, the definition gives %v", name, i, got[i], want[i])
				}
			}
			if length > 2*(2*64+2*cfg.Hop)+cfg.Hop && s.wss.tailAt <= len(s.wss.head) {
				t.Errorf("%s: a long signal's table is not split (head %d, tail at %d)", name, len(s.wss.head), s.wss.tailAt)
			}
			p, err := NewProblem(s, make([]float64, s.Frames()*s.Bins()), Loss{})
			if err != nil {
				t.Fatal(err)
			}
			g := make([]float64, length)
			for i := range g {
				g[i] = 1
			}
			p.Precondition(g)
			inv := p.InversePreconditioner()
			maxW := maxAbs(want)
			for i, w := range want {
				d := 0.0
				if w > 1e-10*maxW {
					d = 1 / (2 * float64(cfg.NFFT) * w)
				}
				if e := g[i] - d; e > 1e-12*d || e < -1e-12*d || inv[i] != g[i] {
					t.Fatalf("%s: D⁻¹ at %d is %v (InversePreconditioner %v), want %v", name, i, g[i], inv[i], d)
				}
			}
			s.Close()
		}
	}
}
