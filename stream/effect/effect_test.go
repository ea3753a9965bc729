package effect

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

const rate = 16000

func tone(freq, amp float64, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/rate)
	}
	return x
}

// vocode runs x through analysis → effects → engine (defaults, n_fft 1024, hop 256).
func vocode(t *testing.T, x []float64, specs ...string) []float64 {
	t.Helper()
	cfg, _ := retrieval.Config{NFFT: 1024, Hop: 256}.Resolve()
	chain, err := NewChain(specs, cfg, rate, FreeFrameRate)
	if err != nil {
		t.Fatal(err)
	}
	an, err := stream.NewAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	ec := stream.DefaultConfig()
	ec.STFT, ec.SampleRate = cfg, rate
	eng, err := stream.NewEngine(ec)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	p, err := stream.NewPipeline(eng, an, stream.Delayed) // the engine's stream, as a real-time loop hears it
	if err != nil {
		t.Fatal(err)
	}
	p.SetEffects(chain)
	var out []float64
	keep := func(h []float64) error { out = append(out, h...); return nil }
	if err := p.Write(x, keep); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(keep); err != nil {
		t.Fatal(err)
	}
	return out
}

// peakHz returns the frequency of the largest DFT magnitude of x[from:to] (Hann window,
// parabolic interpolation of the log magnitude around the peak).
func peakHz(x []float64) float64 {
	n := len(x)
	best, bk := 0.0, 0
	mags := make([]float64, n/2)
	for k := 1; k < n/2; k++ {
		var s complex128
		for i, v := range x {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
			s += complex(w*v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*i)/float64(n)))
		}
		mags[k] = cmplx.Abs(s)
		if mags[k] > best {
			best, bk = mags[k], k
		}
	}
	a, b, c := math.Log(mags[bk-1]), math.Log(mags[bk]), math.Log(mags[bk+1])
	d := 0.5 * (a - c) / (a - 2*b + c)
	return (float64(bk) + d) * rate / float64(n)
}

func TestPitchShiftOctaveUp(t *testing.T) {
	x := tone(440, 0.5, rate) // 1 s
	y := vocode(t, x, "pitch:+12")
	mid := y[len(y)/4 : len(y)/4+4096]
	got := peakHz(mid)
	t.Logf("440 Hz tone shifted +12 semitones: peak at %.2f Hz", got)
	if math.Abs(got-880) > 1 {
		t.Errorf("peak at %.2f Hz, want 880 Hz", got)
	}
	// −12 brings it to 220 Hz.
	if got := peakHz(vocode(t, x, "pitch:-12")[rate/4 : rate/4+4096]); math.Abs(got-220) > 1 {
		t.Errorf("−12 semitones: peak at %.2f Hz, want 220 Hz", got)
	}
}

// TestGateRemovesStationaryNoise: a 1 kHz tone in white noise 34 dB below it; after the floor
// settles, the gate (20 dB over the floor) removes the noise bins and keeps the tone's.
func TestGateRemovesStationaryNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2 * rate
	x := tone(1000, 0.5, n)
	for i := range x {
		x[i] += 0.01 * rng.NormFloat64()
	}
	cfg, _ := retrieval.Config{NFFT: 1024, Hop: 256}.Resolve()
	g, err := NewGate(20, math.Inf(-1), cfg.Bins(), 256.0/rate)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := retrieval.NewSTFT(cfg, n)
	mag := s.Magnitude(nil, x)
	bins := cfg.Bins()
	toneBin := 1000 * 1024 / rate // 64
	var noiseIn, noiseOut, toneIn, toneOut float64
	for m := 0; m < s.Frames(); m++ {
		f := mag[m*bins : (m+1)*bins]
		before := append([]float64(nil), f...)
		g.Apply(f)
		if m < s.Frames()/2 || m >= s.Frames()-4 {
			continue // settling, and the edge frames
		}
		for k := range f {
			if abs(k-toneBin) <= 3 {
				toneIn += before[k] * before[k]
				toneOut += f[k] * f[k]
			} else {
				noiseIn += before[k] * before[k]
				noiseOut += f[k] * f[k]
			}
		}
	}
	red := 10 * math.Log10(noiseIn/noiseOut)
	kept := 10 * math.Log10(toneOut/toneIn)
	t.Logf("noise reduced by %.1f dB, tone changed by %.2f dB", red, kept)
	if red < 20 {
		t.Errorf("noise reduced by only %.1f dB", red)
	}
	if kept < -0.5 {
		t.Errorf("tone lost %.2f dB", -kept)
	}
	// And the resynthesised audio: the noise floor between harmonics drops.
	y := vocode(t, x, "gate:20")
	if len(y) < n {
		t.Fatalf("output %d samples", len(y))
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func TestTimeStretchDoublesDurationKeepsPitch(t *testing.T) {
	x := tone(440, 0.5, rate)
	y := vocode(t, x, "stretch:2")
	plain := vocode(t, x)
	// Both carry the same latency; the stretch adds the input's duration, to within one n_fft (the
	// analysis' leading padding frames are stretched too) plus the engine's tail (FlushLen = 1536
	// samples here), which a Pipeline emits whole after a stretch but cuts at the input's length
	// plus the file delay otherwise.
	added := len(y) - len(plain)
	t.Logf("output %d → %d samples: %d added for a %d-sample input", len(plain), len(y), added, len(x))
	if added < len(x)-1024 || added > len(x)+1024+1536 {
		t.Errorf("stretch ×2 added %d samples, want %d − 1024 … %d + 2560", added, len(x), len(x))
	}
	if got := peakHz(y[len(y)/2 : len(y)/2+4096]); math.Abs(got-440) > 3 {
		t.Errorf("stretched peak at %.2f Hz, want 440 Hz", got)
	}
	// Frame counts exactly: J input frames give ⌊(J−1)·f⌋ + 1 output frames.
	ts, _ := NewTimeStretch(2, 3)
	outFrames := 0
	for range 10 {
		outFrames += len(ts.Push([]float64{1, 2, 3}))
	}
	if outFrames != 19 {
		t.Errorf("10 frames stretched ×2 gave %d frames, want 19", outFrames)
	}
}

func TestBandGain(t *testing.T) {
	b, err := NewBandGain(1000, 2000, -20, 1024, rate)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, 513)
	for i := range f {
		f[i] = 1
	}
	b.Apply(f)
	for k, v := range f {
		hz := float64(k) * rate / 1024
		want := 1.0
		if hz >= 1000 && hz <= 2000 {
			want = 0.1
		}
		if math.Abs(v-want) > 1e-12 {
			t.Fatalf("bin %d (%.1f Hz): %v, want %v", k, hz, v, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cfg, _ := retrieval.Config{NFFT: 512, Hop: 128}.Resolve()
	for _, s := range []string{"pitch", "pitch:x", "pitch:100", "gate:-3", "gate:6:+3", "gain:100:3", "gain:3000-100:3",
		"gain:100-9000:3", "stretch:0", "stretch:20", "reverb:1"} {
		if _, err := Parse(s, cfg, rate); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if _, err := NewChain([]string{"stretch:2"}, cfg, rate, FixedFrameRate); err == nil || !strings.Contains(err.Error(), "file mode") {
		t.Errorf("stretch in real-time mode: %v", err)
	}
	c, err := NewChain([]string{"gate:10", "pitch:+3", "gain:100-200:-6"}, cfg, rate, FixedFrameRate)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); !strings.Contains(got, "gate 10 dB") || !strings.Contains(got, "pitch +3") {
		t.Errorf("chain %q", got)
	}
}

// TestPipelineWithEffectsDoesNotAllocate: the real-time path (analysis, effects, engine: a
// stream.Pipeline with a Chain) allocates nothing per hop in steady state.
func TestPipelineWithEffectsDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	cfg, _ := retrieval.Config{NFFT: 1024, Hop: 256}.Resolve()
	chain, _ := NewChain([]string{"gate:10", "pitch:+5", "gain:100-2000:3"}, cfg, rate, FixedFrameRate)
	an, _ := stream.NewAnalyzer(cfg)
	eng, _ := stream.NewEngine(stream.Config{STFT: cfg, SampleRate: rate, Lookahead: 2, ItersPerHop: 8})
	p, err := stream.NewPipeline(eng, an, stream.Aligned)
	if err != nil {
		t.Fatal(err)
	}
	p.SetEffects(chain)
	x := tone(300, 0.3, 256)
	sink := func([]float64) error { return nil }
	for range 20 {
		p.Write(x, sink)
	}
	if a := testing.AllocsPerRun(50, func() { p.Write(x, sink) }); a != 0 {
		t.Errorf("Pipeline.Write with effects allocates %v times per hop", a)
	}
}

// FuzzParse: any spec either fails with an error or yields an effect that processes a frame of
// finite magnitudes into finite, non-negative magnitudes (or a time stretch).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"pitch:+12", "pitch:-7.5", "gate:12", "gate:20:-30", "gain:300-3000:+6", "stretch:2", "pitch:", "gain:1-2", "x"} {
		f.Add(s)
	}
	// Issue 14's kinds of hostile values: NaN, ±Inf, huge, zero and negative numbers in every field.
	for _, s := range []string{"pitch:NaN", "pitch:+Inf", "pitch:1e6", "gate:NaN", "gate:Inf:-30", "gate:20:NaN", "gate:-1e308",
		"gain:NaN-3000:6", "gain:3000-300:6", "gain:0-1e308:+1e308", "gain:300-3000:-Inf", "stretch:0", "stretch:-1",
		"stretch:NaN", "stretch:1e9", "stretch:1e-9", "pitch:+12:extra", "gain:-5-10:3"} {
		f.Add(s)
	}
	cfg, _ := retrieval.Config{NFFT: 64, Hop: 16}.Resolve()
	f.Fuzz(func(t *testing.T, spec string) {
		e, err := Parse(spec, cfg, rate)
		if err != nil {
			return
		}
		frame := make([]float64, cfg.Bins())
		for i := range frame {
			frame[i] = float64(i%7) + 0.5
		}
		if e == nil {
			t.Fatalf("Parse(%q) returned a nil effect and no error", spec)
		}
		for range 3 {
			out := e.Push(frame)
			if _, stretch := e.(*TimeStretch); !stretch && (len(out) != 1 || &out[0][0] != &frame[0]) {
				t.Fatalf("Parse(%q): an in-place effect returned %d frames, not the frame itself", spec, len(out))
			}
			for _, f := range out {
				for k, v := range f {
					if !(v >= 0) || math.IsInf(v, 0) {
						t.Fatalf("Parse(%q): bin %d = %v", spec, k, v)
					}
				}
			}
		}
	})
}
