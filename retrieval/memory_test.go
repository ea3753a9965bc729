package retrieval

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// framingConfigs returns STFT configurations of n_fft n for every framing and padding, with
// hops that divide n_fft and hops that do not, and windows shorter than n_fft.
func framingConfigs(n int) []Config {
	return []Config{
		{NFFT: n, Hop: n / 4},
		{NFFT: n, Hop: n / 4, Pad: Zero},
		{NFFT: n, Hop: n / 4, Framing: Full},
		{NFFT: n, Hop: n / 4, Framing: Inner},
		{NFFT: n, Hop: 3 * n / 8, WinLength: 3 * n / 4, Window: Hamming, Framing: Full},
		{NFFT: n, Hop: 3 * n / 16, WinLength: 3 * n / 4, Framing: Inner},
		{NFFT: n, Hop: n / 9, Window: Blackman, Pad: Zero},
	}
}

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
	for _, cfg := range framingConfigs(64) {
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
			if length > 2*(2*cfg.NFFT+2*cfg.Hop)+cfg.Hop && s.wss.tailAt <= len(s.wss.head) {
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

// TestInconsistencyMatchesWholeSignal checks that the windowed inconsistency (the re-synthesis
// held one window of frames at a time) equals, to the last bit, ‖STFT(ISTFT(S)) − S‖/‖T‖ computed
// on whole spectrograms with S = Project(x), for every framing, on signals spanning one and
// several windows, and that its scratch does not grow with the signal.
func TestInconsistencyMatchesWholeSignal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range framingConfigs(32) {
		var windows []int
		for _, length := range []int{40, 700, 9001, 20011} {
			name := fmt.Sprintf("%v/%v/hop%d/L%d", cfg.Framing, cfg.Pad, cfg.Hop, length)
			s := mustSTFT(t, cfg, length)
			mag := s.Magnitude(nil, randSignal(rng, length))
			p, err := NewProblem(s, mag, Loss{})
			if err != nil {
				t.Fatal(err)
			}
			x := randSignal(rng, length)
			S := p.Project(nil, x)
			re := s.Forward(nil, s.Inverse(nil, S))
			var num, den float64
			for i, v := range S {
				d := re[i] - v
				num += real(d)*real(d) + imag(d)*imag(d)
			}
			for _, v := range mag {
				den += v * v
			}
			want := math.Sqrt(num) / math.Sqrt(den)
			if got := p.Inconsistency(x); got != want {
				t.Errorf("%s: inconsistency %v, whole-signal %v (differ by %g)", name, got, want, got-want)
			}
			windows = append(windows, len(p.yWindow))
		}
		if windows[3] != windows[2] || windows[3] >= 9001/2 {
			t.Errorf("%v hop %d: inconsistency scratch %v samples for signals of 40…20011", cfg.Framing, cfg.Hop, windows)
		}
	}
}

// TestMagnitudeFromMatchesMagnitude checks that the magnitudes computed from a signal read in
// pieces of random sizes are Magnitude's to the last bit, for every framing and padding, on
// signals shorter than a frame and longer than the read window, and that a signal that ends
// early or a failing read is an error.
func TestMagnitudeFromMatchesMagnitude(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cfg := range framingConfigs(512) {
		for _, length := range []int{100, 512, 3000, 200_001} {
			if cfg.Framing == Inner && length < cfg.NFFT {
				continue
			}
			name := fmt.Sprintf("%v/%v/hop%d/L%d", cfg.Framing, cfg.Pad, cfg.Hop, length)
			s := mustSTFT(t, cfg, length)
			x := randSignal(rng, length)
			want := s.Magnitude(nil, x)
			pos := 0
			got, err := s.MagnitudeFrom(nil, func(p []float64) (int, error) {
				if pos == len(x) {
					return 0, io.EOF
				}
				k := copy(p[:min(len(p), 1+rng.IntN(5000))], x[pos:])
				pos += k
				return k, nil
			})
			if err != nil {
				t.Fatal(name, err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: magnitude %d is %v, Magnitude gives %v", name, i, got[i], want[i])
				}
			}
			pos = 0
			if _, err := s.MagnitudeFrom(nil, func(p []float64) (int, error) {
				if pos >= length-1 { // one sample short
					return 0, io.EOF
				}
				k := copy(p[:min(len(p), length-1-pos)], x[pos:])
				pos += k
				return k, nil
			}); err == nil || !strings.Contains(err.Error(), "ended after") {
				t.Errorf("%s: a signal one sample short gives %v", name, err)
			}
			failed := errors.New("disk on fire")
			if _, err := s.MagnitudeFrom(nil, func([]float64) (int, error) { return 0, failed }); !errors.Is(err, failed) {
				t.Errorf("%s: a failing read gives %v", name, err)
			}
		}
	}
}

// TestRelativeL2MeterMatchesRelativeL2 checks that RelativeL2 accumulated block by block equals
// RelativeL2 of the whole signals to the last bit, sign-invariant, with the zero-reference cases.
func TestRelativeL2MeterMatchesRelativeL2(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ref, est := randSignal(rng, 10_000), randSignal(rng, 10_000)
	var m, neg RelativeL2Meter
	for pos := 0; pos < len(ref); {
		k := min(len(ref)-pos, 1+rng.IntN(3000))
		m.Add(ref[pos:pos+k], est[pos:pos+k])
		flipped := make([]float64, k)
		for i, v := range est[pos : pos+k] {
			flipped[i] = -v
		}
		neg.Add(ref[pos:pos+k], flipped)
		pos += k
	}
	want := RelativeL2(ref, est)
	if m.Value() != want || neg.Value() != want || !(want > 1) {
		t.Errorf("block by block %v (negated estimate %v), whole %v", m.Value(), neg.Value(), want)
	}
	var zero RelativeL2Meter
	zero.Add(make([]float64, 5), make([]float64, 5))
	if zero.Value() != 0 {
		t.Errorf("zero against zero: %v", zero.Value())
	}
	zero.Add([]float64{0}, []float64{1})
	if !math.IsInf(zero.Value(), 1) {
		t.Errorf("an estimate against a zero reference: %v", zero.Value())
	}
}
