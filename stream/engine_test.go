package stream

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

const testRate = 16000

// testSignal is 1 s at 16 kHz: a harmonic tone complex (150 Hz fundamental with vibrato, 12
// partials with 1/h amplitudes) gated on and off, an exponential chirp and a little noise, seeded.
func testSignal() []float64 {
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([]float64, testRate)
	ph := 0.0
	for i := range x {
		t := float64(i) / testRate
		f0 := 150 * (1 + 0.03*math.Sin(2*math.Pi*5*t))
		ph += 2 * math.Pi * f0 / testRate
		var v float64
		for h := 1; h <= 12; h++ {
			v += math.Sin(float64(h)*ph) / float64(h)
		}
		gate := 0.5 * (1 - math.Cos(2*math.Pi*t*2))
		x[i] = 0.3*gate*v + 0.1*math.Sin(2*math.Pi*(300*t+1500*t*t)) + 0.003*rng.NormFloat64()
	}
	return x
}

// streamSC runs x through analysis and engine and returns the output's spectral convergence (dB)
// against |STFT(x)| with the independent metric (center=True, reflect padding, periodic Hann).
func streamSC(t *testing.T, c Config, x []float64) (float64, *Engine) {
	t.Helper()
	y, e := streamOut(t, c, x)
	if len(y) != len(x) {
		t.Fatalf("output has %d samples, want %d", len(y), len(x))
	}
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 512, Hop: 128}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return retrieval.DB(retrieval.SpectralConvergence(s.Magnitude(nil, y), s.Magnitude(nil, x))), e
}

// streamOut runs x through analysis and an engine of config c at n_fft 512, hop 128 and returns
// the output and the engine (closed at the test's end).
func streamOut(t *testing.T, c Config, x []float64) ([]float64, *Engine) {
	t.Helper()
	c.STFT = retrieval.Config{NFFT: 512, Hop: 128}
	e, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	a, err := NewAnalyzer(c.STFT)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	y, err := Resynthesize(e, a, x)
	if err != nil {
		t.Fatal(err)
	}
	return y, e
}

func TestEngineQualityOrdering(t *testing.T) {
	x := testSignal()
	rtpghi, _ := streamSC(t, Config{Lookahead: 1}, x)
	causal, _ := streamSC(t, Config{}, x) // the zero Config: causal RTPGHI alone
	rtisi, _ := streamSC(t, Config{ItersPerHop: 16, Lookahead: 3, Optimizer: GLA, WarmStart: RTISI}, x)
	k4, _ := streamSC(t, Config{Lookahead: 3, ItersPerHop: 4, Optimizer: LBFGS}, x)
	k16, _ := streamSC(t, Config{Lookahead: 3, ItersPerHop: 16, Optimizer: LBFGS}, x)
	k64, _ := streamSC(t, Config{Lookahead: 3, ItersPerHop: 64, Optimizer: LBFGS}, x)
	t.Logf("SC dB: causal RTPGHI %.1f, RTPGHI ℓ=1 %.1f, RTISI-LA ℓ=3 K=16 %.1f, engine ℓ=3 K=4 %.1f, K=16 %.1f, K=64 %.1f",
		causal, rtpghi, rtisi, k4, k16, k64)
	// Alignment and sanity: a misaligned or broken output has SC near 0 dB.
	if rtpghi > -12 || causal > -10 {
		t.Errorf("RTPGHI alone: %.1f dB (ℓ=1), %.1f dB (causal); want ≤ −12 / −10", rtpghi, causal)
	}
	// Monotonicity in K is TestQualityMonotoneInIterations' (for the optimizers that have it).
	if !(k4 < rtpghi-1 && k16 < rtpghi-1.5) {
		t.Errorf("iterations do not pay: RTPGHI %.1f, K=4 %.1f, K=16 %.1f, K=64 %.1f dB", rtpghi, k4, k16, k64)
	}
	if k16 > rtisi+1 {
		t.Errorf("L-BFGS engine %.1f dB is over 1 dB worse than RTISI-LA %.1f dB at the same ℓ and K", k16, rtisi)
	}
}

func TestEngineEveryOptimizerAndWarmStart(t *testing.T) {
	x := testSignal()[:testRate/2]
	base, _ := streamSC(t, Config{Lookahead: 2, WarmStart: Zero}, x)
	for _, o := range []Optimizer{LBFGS, FGLA, GLA, Adam, SGDM} {
		for _, w := range []WarmStart{RTPGHI, RTPGHICausal, RTISI, Zero, Noise} {
			sc, e := streamSC(t, Config{ItersPerHop: 12, Lookahead: 2, Optimizer: o, WarmStart: w, Seed: 3}, x)
			if math.IsNaN(sc) || sc > base-2 {
				t.Errorf("%v/%v: %.1f dB, not 2 dB better than zero phase without iterations (%.1f dB)", o, w, sc, base)
			}
			want := 12 * (e.Stats().Frames + 1) // every frame and the flush
			if w == RTPGHI {
				want -= 12 // frame 0 waits for frame 1 before it enters the loss
			}
			if got := e.Stats().Iterations; got != want {
				t.Errorf("%v/%v: %d iterations over %d frames and the flush, want 12 each", o, w, got, e.Stats().Frames)
			}
		}
	}
}

// TestZeroAndDefaultConfig: 0 means 0 — the zero Config is valid and resolves to causal RTPGHI
// alone at ℓ = 0 (RTPGHI's one-frame delay needs a look-ahead frame), runs no iteration and
// emits with n_fft samples of latency; DefaultConfig resolves to the documented defaults;
// Resolve is idempotent on both.
func TestZeroAndDefaultConfig(t *testing.T) {
	x := testSignal()[:testRate/4]
	sc, e := streamSC(t, Config{}, x)
	c := e.Config()
	if c.Lookahead != 0 || c.ItersPerHop != 0 || c.WarmStart != RTPGHICausal || c.Optimizer != FGLA || c.Budget != 0 {
		t.Errorf("zero Config resolved to ℓ %d, K %d, %v, %v, budget %v", c.Lookahead, c.ItersPerHop, c.WarmStart, c.Optimizer, c.Budget)
	}
	if e.Stats().Iterations != 0 || !(sc < -3) || e.Latency().AudioToAudio != c.STFT.NFFT {
		t.Errorf("zero Config: %d iterations, SC %.1f dB, latency %d samples", e.Stats().Iterations, sc, e.Latency().AudioToAudio)
	}
	d, err := DefaultConfig().Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if d.Lookahead != DefaultLookahead || d.ItersPerHop != DefaultFileItersPerHop || d.WarmStart != RTPGHI || d.Optimizer != FGLA ||
		d.STFT.NFFT != 512 || d.STFT.Hop != 128 || d.Alpha != 0.7 || d.History != 10 {
		t.Errorf("DefaultConfig resolved to %+v", d)
	}
	for _, r := range []Config{c, d} {
		again, err := r.Resolve()
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Errorf("Resolve is not idempotent: %+v → %+v, %v", r, again, err)
		}
	}
}

func TestEngineLatencyAndLengths(t *testing.T) {
	for _, c := range []struct {
		nfft, hop, look  int
		a2a, file, flush int
	}{
		{512, 128, 3, 512 + 384, 384 + 384, 384 + 384},
		{1024, 256, 2, 1024 + 512, 512 + 768, 512 + 768},
		{500, 128, 1, 128 + 384 + 128, 128 + 384, 128 + 500 - 128}, // n_fft not a multiple of hop
	} {
		e, err := NewEngine(Config{STFT: retrieval.Config{NFFT: c.nfft, Hop: c.hop}, Lookahead: c.look, SampleRate: 16000})
		if err != nil {
			t.Fatal(err)
		}
		l := e.Latency()
		if l.FramesToAudio != c.look*c.hop || l.AudioToAudio != c.a2a || l.FileDelay != c.file || e.FlushLen() != c.flush {
			t.Errorf("n_fft %d hop %d ℓ %d: latency %+v flush %d; want frames→audio %d, audio→audio %d, file %d, flush %d",
				c.nfft, c.hop, c.look, l, e.FlushLen(), c.look*c.hop, c.a2a, c.file, c.flush)
		}
		e.Close()
	}
}

func TestEngineRejectsBadFramesKeepingState(t *testing.T) {
	x := testSignal()[:4000]
	cfg := Config{STFT: retrieval.Config{NFFT: 256, Hop: 64}, Lookahead: 3, ItersPerHop: 4}
	a, _ := NewAnalyzer(cfg.STFT)
	var frames [][]float64
	a.Write(x, func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil })
	run := func(bad bool) []float64 {
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		var out []float64
		hop := make([]float64, 64)
		for j, f := range frames {
			if bad && j == 5 {
				g := append([]float64(nil), f...)
				g[7] = math.NaN()
				var fe *FrameError
				if err := e.Push(hop, g); !errors.As(err, &fe) || fe.Frame != 5 || fe.Bin != 7 {
					t.Fatalf("NaN at frame 5 bin 7: error %v", err)
				}
				g[7] = 1.01 * retrieval.MaxMagnitude
				if err := e.Push(hop, g); !errors.As(err, &fe) || fe.Frame != 5 || fe.Bin != 7 {
					t.Fatalf("a magnitude above retrieval.MaxMagnitude at frame 5 bin 7: error %v", err)
				}
				if err := e.Push(hop, f[:10]); !errors.As(err, &fe) || fe.Bin != -1 || fe.Len != 10 {
					t.Fatalf("short frame: error %v", err)
				}
			}
			if err := e.Push(hop, f); err != nil {
				t.Fatal(err)
			}
			out = append(out, hop...)
		}
		return out
	}
	good, withBad := run(false), run(true)
	for i := range good {
		if good[i] != withBad[i] {
			t.Fatalf("rejected frames changed the output at sample %d", i)
		}
	}
}

func TestEngineDeadlineMode(t *testing.T) {
	x := testSignal()[:testRate/4]
	_, e := streamSC(t, Config{Lookahead: 3, Budget: 0.3, SampleRate: testRate, MaxItersPerHop: 50}, x)
	st := e.Stats()
	if st.Iterations == 0 || st.Iterations > 50*st.Frames {
		t.Errorf("deadline mode ran %d iterations over %d frames (cap 50 per frame)", st.Iterations, st.Frames)
	}
	if p50, p99 := st.Percentile(50), st.Percentile(99); p50 <= 0 || p99 < p50 || st.Max < p99 {
		t.Errorf("percentiles p50 %v p99 %v max %v", p50, p99, st.Max)
	}
	if _, err := NewEngine(Config{Budget: 0.5}); err == nil {
		t.Error("a budget without a sample rate was accepted")
	}
	if _, err := NewEngine(Config{Budget: 0.5, SampleRate: testRate, ItersPerHop: -1}); err == nil {
		t.Error("a negative iteration count was accepted")
	}
}

// TestLBFGSStopsAtItsCap: L-BFGS runs at most lbfgsItersPerHop iterations per hop, so a larger
// ItersPerHop writes the very same samples as lbfgsItersPerHop, and a deadline hop (with no cap of
// its own) stops there too; the statistics count the iterations run.
func TestLBFGSStopsAtItsCap(t *testing.T) {
	x := testSignal()[:testRate/4]
	run := func(c Config) ([]float64, *Engine) { return streamOut(t, c, x) }
	at, _ := run(Config{Optimizer: LBFGS, Lookahead: 2, ItersPerHop: lbfgsItersPerHop})
	above, e := run(Config{Optimizer: LBFGS, Lookahead: 2, ItersPerHop: 4 * lbfgsItersPerHop})
	if !reflect.DeepEqual(at, above) {
		t.Errorf("L-BFGS at K = %d and K = %d wrote different samples", lbfgsItersPerHop, 4*lbfgsItersPerHop)
	}
	if st := e.Stats(); st.IterationsPercentile(100) != lbfgsItersPerHop {
		t.Errorf("K = %d ran up to %d iterations per hop, want %d", 4*lbfgsItersPerHop, st.IterationsPercentile(100), lbfgsItersPerHop)
	}
	_, e = run(Config{Optimizer: LBFGS, Lookahead: 2, Budget: 100, SampleRate: testRate})
	if st := e.Stats(); st.Iterations == 0 || st.IterationsPercentile(100) > lbfgsItersPerHop {
		t.Errorf("deadline hops ran up to %d iterations (%d in all), want at most %d",
			st.IterationsPercentile(100), st.Iterations, lbfgsItersPerHop)
	}
}

func TestEnginePushDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	x := testSignal()[:8000]
	a, _ := NewAnalyzer(retrieval.Config{NFFT: 512, Hop: 128})
	var frames [][]float64
	a.Write(x, func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil })
	for _, o := range []Optimizer{LBFGS, FGLA, GLA, Adam, SGDM} {
		for _, w := range []WarmStart{RTPGHI, RTPGHICausal, RTISI, Zero, Noise} {
			e, err := NewEngine(Config{Lookahead: 3, Optimizer: o, WarmStart: w, ItersPerHop: 4})
			if err != nil {
				t.Fatal(err)
			}
			hop := make([]float64, 128)
			if allocs := pushAllocs(e, hop, frames, len(frames)-21); allocs != 0 {
				t.Errorf("%v/%v: Push allocates %.1f times per frame", o, w, allocs)
			}
			e.Close()
		}
	}
	// The deadline loop (every optimizer) and L-BFGS asked for more than lbfgsItersPerHop
	// iterations.
	for _, c := range []Config{
		{Lookahead: 3, Optimizer: FGLA, Budget: 0.2, SampleRate: testRate}, {Lookahead: 3, Optimizer: LBFGS, Budget: 0.2, SampleRate: testRate},
		{Lookahead: 3, Optimizer: Adam, Budget: 0.2, SampleRate: testRate}, {Lookahead: 3, Optimizer: LBFGS, ItersPerHop: lbfgsItersPerHop + 8},
		{Lookahead: 3, Optimizer: FGLA, ItersPerHop: 4, Precision: fft.Float32}, {Lookahead: 3, Optimizer: LBFGS, ItersPerHop: 4, Precision: fft.Float32},
	} {
		e, err := NewEngine(c)
		if err != nil {
			t.Fatal(err)
		}
		hop := make([]float64, 128)
		if allocs := pushAllocs(e, hop, frames, 10); allocs != 0 {
			t.Errorf("%v, budget %v, K %d: Push allocates %.1f times per frame", c.Optimizer, c.Budget, c.ItersPerHop, allocs)
		}
		e.Close()
	}
	// A mel engine (HiFi-GAN's ln compression), every optimizer.
	mc := retrieval.MelConfig{NMels: 40, FMax: 7000}
	fb, err := retrieval.NewMel(retrieval.MelConfig{SampleRate: testRate, NFFT: 512, NMels: 40, FMax: 7000})
	if err != nil {
		t.Fatal(err)
	}
	mels := make([][]float64, len(frames))
	for i, f := range frames {
		mels[i] = fb.Apply(nil, f)
		for b, v := range mels[i] {
			mels[i][b] = math.Log(math.Max(v, 1e-5))
		}
	}
	for _, o := range []Optimizer{LBFGS, GLA, Adam, SGDM} {
		for i, start := range []retrieval.MelStart{retrieval.MelStartHarmonic, retrieval.MelStartLeastSquares, retrieval.MelStartHarmonic} {
			anchor := 0.0 // the default anchor (on)
			if i == 2 {
				anchor = -1 // off
			}
			e, err := NewEngine(Config{Lookahead: 3, Optimizer: o, ItersPerHop: 4, SampleRate: testRate, Mel: &mc,
				MelLoss: retrieval.MelLoss{Log: retrieval.LogLn}, MelStart: start, MelAnchor: anchor})
			if err != nil {
				t.Fatal(err)
			}
			hop := make([]float64, 128)
			if allocs := pushAllocs(e, hop, mels, 10); allocs != 0 {
				t.Errorf("mel %v, %v start, anchor %g: Push allocates %.1f times per frame", o, start, e.Config().MelAnchor, allocs)
			}
			e.Close()
		}
	}
	n := 0
	if allocs := testing.AllocsPerRun(10, func() { a.Write(x[:1000], func([]float64) error { n++; return nil }) }); allocs != 0 {
		t.Errorf("Analyzer.Write allocates %.1f times", allocs)
	}
}

// TestEngineEnumsAsText: Optimizer and WarmStart marshal to their names and unmarshal from them
// in any case; undefined values and unknown names are errors.
func TestEngineEnumsAsText(t *testing.T) {
	for _, o := range []Optimizer{FGLA, LBFGS, GLA, Adam, SGDM} {
		b, err := o.MarshalText()
		var back Optimizer
		if err != nil || back.UnmarshalText([]byte(strings.ToUpper(string(b)))) != nil || back != o {
			t.Errorf("optimizer %v: %q, %v, back %v", o, b, err, back)
		}
	}
	for _, a := range []Alignment{Aligned, Delayed} {
		b, err := a.MarshalText()
		var back Alignment
		if err != nil || back.UnmarshalText([]byte(strings.ToUpper(string(b)))) != nil || back != a {
			t.Errorf("alignment %v: %q, %v, back %v", a, b, err, back)
		}
	}
	for _, w := range []WarmStart{RTPGHI, RTPGHICausal, RTISI, Zero, Noise} {
		b, err := w.MarshalText()
		var back WarmStart
		if err != nil || back.UnmarshalText([]byte(" "+string(b))) != nil || back != w {
			t.Errorf("warm start %v: %q, %v, back %v", w, b, err, back)
		}
	}
	var o Optimizer
	if _, err := Optimizer(9).MarshalText(); err == nil || o.UnmarshalText([]byte("newton")) == nil {
		t.Error("an undefined optimizer marshalled, or an unknown name parsed")
	}
	// One vocabulary with retrieval: the same values under the same names.
	for _, o := range []Optimizer{FGLA, GLA, LBFGS, Adam, SGDM} {
		if r, err := retrieval.ParseOptimizer(o.String()); err != nil || r != o {
			t.Errorf("stream optimizer %v is retrieval's %v, %v", o, r, err)
		}
	}
	if _, err := NewEngine(Config{Optimizer: Optimizer(9)}); err == nil || !strings.Contains(err.Error(), "does not implement") {
		t.Errorf("an optimizer the engine does not implement: %v", err)
	}
}

// TestMaxMagnitudeIsSafe: a signal scaled so that its largest STFT magnitude is
// retrieval.MaxMagnitude streams as well as at its own scale, in float32 and float64 (the
// ceiling leaves float32's frames in range; with it at 1e39 float32 FGLA outputs NaN).
func TestMaxMagnitudeIsSafe(t *testing.T) {
	x := testSignal()[:testRate/2]
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 512, Hop: 128}, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peak := 0.0
	for _, v := range s.Magnitude(nil, x) {
		peak = math.Max(peak, v)
	}
	big := make([]float64, len(x))
	for i, v := range x {
		big[i] = v * retrieval.MaxMagnitude / peak * (1 - 1e-9)
	}
	for _, c := range []Config{{Optimizer: FGLA, Precision: fft.Float32}, {Optimizer: LBFGS, Precision: fft.Float64}} {
		c.ItersPerHop = 8
		want, _ := streamSC(t, c, x)
		got, _ := streamSC(t, c, big)
		if math.IsNaN(got) || math.Abs(got-want) > 0.05 {
			t.Errorf("%v %v: SC %.2f dB at MaxMagnitude, %.2f dB at the signal's scale", c.Optimizer, c.Precision, got, want)
		}
	}
}

// pushAllocs pushes frames[:20] into e (warming it up), then returns testing.AllocsPerRun's
// allocations per Push of the next frames, runs of them (frames must hold 21 + runs).
func pushAllocs(e *Engine, hop []float64, frames [][]float64, runs int) float64 {
	for _, f := range frames[:20] {
		e.Push(hop, f)
	}
	j := 20
	return testing.AllocsPerRun(runs, func() { e.Push(hop, frames[j]); j++ })
}
