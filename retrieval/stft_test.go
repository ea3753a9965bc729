package retrieval

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.NFFT != 512 || c.WinLength != 512 || c.Hop != 128 || c.Window != Hann || c.Framing != Center || c.Pad != Reflect {
		t.Fatalf("zero Config resolves to %+v", c)
	}
	for _, bad := range []Config{
		{NFFT: 511}, {NFFT: 64, WinLength: 65}, {NFFT: 64, Hop: 65}, {NFFT: 64, WinLength: 32, Hop: 33},
		{NFFT: -2}, {NFFT: 64, Window: Window(17)},
	} {
		if _, err := bad.Resolve(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := NewSTFT(Config{}, 0); err == nil {
		t.Error("zero-length signal: no error")
	}
}

func TestFrameCounts(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		length int
		want   int
	}{
		{Config{NFFT: 512, Hop: 128}, 16000, 1 + 16000/128}, // librosa: 1 + L//hop
		{Config{NFFT: 512, Hop: 128}, 1, 1},
		{Config{NFFT: 8, Hop: 2, Framing: Full}, 10, 8}, // p = 6: starts −6, −4, …, 8
		{Config{NFFT: 8, Hop: 3, Framing: Full}, 10, 6}, // p = 6: starts −6, −3, 0, 3, 6, 9
		{Config{NFFT: 128, Hop: 40, WinLength: 96}, 1500, 38},
	} {
		if got := tc.cfg.mustResolve(t).Frames(tc.length); got != tc.want {
			t.Errorf("%+v L=%d: %d frames, want %d", tc.cfg, tc.length, got, tc.want)
		}
	}
}

func (c Config) mustResolve(t *testing.T) Config {
	r, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// roundTripConfigs spans n_fft, win_length, hop (divisors and non-divisors of n_fft), every window
// and every framing.
func roundTripConfigs() []Config {
	var out []Config
	for _, nfft := range []int{16, 64, 128, 512} {
		for _, wl := range []int{nfft, 3 * nfft / 4, nfft / 2} {
			for _, hop := range []int{wl / 2, wl / 4, 3 * wl / 8, wl/3 + 1} {
				for _, win := range []Window{Hann, Hamming, Blackman, Gaussian, Rectangular} {
					for _, fr := range []struct {
						f Framing
						p PadMode
					}{{Center, Reflect}, {Center, Zero}, {Full, Zero}} {
						out = append(out, Config{NFFT: nfft, WinLength: wl, Hop: hop, Window: win, Framing: fr.f, Pad: fr.p})
					}
				}
			}
		}
	}
	// Rectangular windows also tile with hop = win_length.
	out = append(out, Config{NFFT: 64, WinLength: 64, Hop: 64, Window: Rectangular, Framing: Full})
	return out
}

func TestInverseForwardRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 0
	for _, cfg := range roundTripConfigs() {
		for _, length := range []int{cfg.NFFT/2 + 3, 2*cfg.NFFT + 1, 997} {
			s := mustSTFT(t, cfg, length)
			x := randSignal(rng, length)
			y := s.Inverse(nil, s.Forward(nil, x))
			for i := range x {
				if math.Abs(y[i]-x[i]) > 1e-12*maxAbs(x) {
					t.Fatalf("%+v L=%d: sample %d: %g, want %g", s.Config(), length, i, y[i], x[i])
				}
			}
			n++
		}
	}
	t.Logf("%d (config, length) combinations round-trip to 1e-12", n)
}

// TestMagnitudeMatchesNumpy compares |STFT| with numpy's rfft on framing written out from its
// definition in testdata/make_reference.py (librosa's center=True convention and Full).
func TestMagnitudeMatchesNumpy(t *testing.T) {
	x, _ := readNpy(t, "testdata/stft_signal.npy")
	for name, cfg := range map[string]Config{
		"hann256_hop64_center_reflect":       {NFFT: 256, Hop: 64},
		"hamming128_win96_hop40_center_zero": {NFFT: 128, Hop: 40, WinLength: 96, Window: Hamming, Pad: Zero},
		"blackman64_hop16_full":              {NFFT: 64, Hop: 16, Window: Blackman, Framing: Full},
	} {
		want, shape := readNpy(t, "testdata/stft_mag_"+name+".npy")
		s := mustSTFT(t, cfg, len(x))
		if shape[0] != s.Bins() || shape[1] != s.Frames() {
			t.Fatalf("%s: numpy shape %v, we have bins × frames = %d × %d", name, shape, s.Bins(), s.Frames())
		}
		got := s.Magnitude(nil, x)
		worst := 0.0
		for m := 0; m < s.Frames(); m++ {
			for k := 0; k < s.Bins(); k++ {
				worst = math.Max(worst, math.Abs(got[m*s.Bins()+k]-want[k*s.Frames()+m]))
			}
		}
		if worst > 1e-10 {
			t.Errorf("%s: max |difference| %g", name, worst)
		}
	}
}

func TestPhaseConventions(t *testing.T) {
	const L = 400
	cfg := Config{NFFT: 64, Hop: 16}
	s := mustSTFT(t, cfg, L)
	// A pulse at sample 160 sits at the centre of frame 160/16 = 10 (Center framing).
	x := make([]float64, L)
	x[160] = 1
	spec := s.Forward(nil, x)
	orig := append([]complex128(nil), spec...)
	s.ConvertPhase(spec, FrameStart, FrameCentre)
	for k := 0; k < s.Bins(); k++ {
		v := spec[10*s.Bins()+k]
		if math.Abs(imag(v)) > 1e-12 || real(v) < 0.99 {
			t.Fatalf("frame-centre phase of a centred pulse at bin %d: %v, want 1+0i", k, v)
		}
	}
	// In the absolute convention the pulse has phase −2πk·160/N in every frame that sees it.
	s.ConvertPhase(spec, FrameCentre, Absolute)
	for m := 8; m <= 12; m++ {
		for k := 0; k < s.Bins(); k++ {
			v := spec[m*s.Bins()+k]
			want := cmplx.Rect(cmplx.Abs(v), -2*math.Pi*float64(k*160)/64)
			if cmplx.Abs(v-want) > 1e-12 {
				t.Fatalf("absolute phase frame %d bin %d: %v want %v", m, k, v, want)
			}
		}
	}
	s.ConvertPhase(spec, Absolute, FrameStart)
	for i := range spec {
		if cmplx.Abs(spec[i]-orig[i]) > 1e-12 {
			t.Fatalf("round trip of phase conventions differs at %d", i)
		}
	}
}

func TestReflectIndexMatchesNumpy(t *testing.T) {
	// np.pad(np.arange(4), 7, mode="reflect")
	want := []int{1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2}
	for i, w := range want {
		if got := reflectIndex(i-7, 4); got != w {
			t.Errorf("reflectIndex(%d, 4) = %d, want %d", i-7, got, w)
		}
	}
	if reflectIndex(-3, 1) != 0 {
		t.Error("length-1 reflection")
	}
}

func TestWindows(t *testing.T) {
	for _, w := range []Window{Hann, Hamming, Blackman, Gaussian, Rectangular} {
		p, err := ParseWindow(w.String())
		if err != nil || p != w {
			t.Errorf("ParseWindow(%q) = %v, %v", w.String(), p, err)
		}
		v := w.Samples(nil, 64, PeriodicWindow, 0)
		if v[32] < 0.99 || v[32] > 1.0000001 {
			t.Errorf("%v: peak %g", w, v[32])
		}
		for n := 1; n < 32; n++ { // periodic windows are symmetric about L/2
			if math.Abs(v[32-n]-v[32+n]) > 1e-12 {
				t.Errorf("%v: not symmetric about L/2 at %d", w, n)
			}
		}
		s := w.Samples(nil, 65, SymmetricWindow, 0)
		if math.Abs(s[0]-s[64]) > 1e-12 || math.Abs(s[32]-v[32]) > 1e-2 {
			t.Errorf("%v: symmetric window ends %g %g, middle %g", w, s[0], s[64], s[32])
		}
	}
	if _, err := ParseWindow("kaiser"); err == nil {
		t.Error("unknown window parsed")
	}
	g := Gaussian.Samples(nil, 100, PeriodicWindow, 0)
	if math.Abs(g[0]-0.01) > 1e-9 {
		t.Errorf("default Gaussian edge %g, want 0.01", g[0])
	}
	if got := Hann.TFR(512, 0); math.Abs(got-0.25645*512*512) > 1e-9 {
		t.Errorf("Hann TFR %g", got)
	}
}

func ExampleSTFT() {
	const fs, L = 16000, 16000
	x := make([]float64, L)
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * 1000 * float64(i) / fs) // 1 kHz tone
	}
	s, _ := NewSTFT(Config{NFFT: 512, Hop: 128}, L)
	defer s.Close()
	mag := s.Magnitude(nil, x)
	peak := 0
	row := mag[60*s.Bins() : 61*s.Bins()]
	for k := range row {
		if row[k] > row[peak] {
			peak = k
		}
	}
	fmt.Printf("%d frames × %d bins; peak at bin %d = %.0f Hz\n", s.Frames(), s.Bins(), peak, float64(peak)*fs/512)
	// Output: 126 frames × 257 bins; peak at bin 32 = 1000 Hz
}
