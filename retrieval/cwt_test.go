package retrieval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func mustCWT(t testing.TB, cfg CWTConfig, length int) *CWT {
	t.Helper()
	c, err := NewCWT(cfg, length)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// cwtCases are small transforms covering every wavelet, both boundaries and the low-pass part.
func cwtCases() []struct {
	name string
	cfg  CWTConfig
} {
	return []struct {
		name string
		cfg  CWTConfig
	}{
		{"morse", CWTConfig{}},
		{"morse(3,60)+lowpass", CWTConfig{Wavelet: Wavelet{Gamma: 3, Beta: 60}, IncludeLowpass: true, Cutoff: 100}},
		{"amor/symmetric", CWTConfig{Wavelet: Wavelet{Family: Morlet}, Boundary: Symmetric, VoicesPerOctave: 8}},
		{"bump+lowpass/symmetric", CWTConfig{Wavelet: Wavelet{Family: Bump}, IncludeLowpass: true, Boundary: Symmetric}},
	}
}

// randomScalogramProblem returns a problem whose target is the scalogram of one random signal,
// and another random signal to evaluate at.
func randomScalogramProblem(t *testing.T, rng *rand.Rand, cfg CWTConfig, n int) (*ScalogramProblem, []float64) {
	t.Helper()
	c := mustCWT(t, cfg, n)
	ref := randSignal(rng, n)
	var low []float64
	if c.HasLowpass() {
		low = c.Lowpass(nil, ref)
	}
	p, err := NewScalogramProblem(c, c.Magnitude(nil, ref), low)
	if err != nil {
		t.Fatal(err)
	}
	return p, randSignal(rng, n)
}

// TestScalogramGradientFiniteDifference checks the CWT magnitude-loss gradient against
// fourth-order central differences, coordinate by coordinate and along random directions.
func TestScalogramGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range cwtCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, x := randomScalogramProblem(t, rng, tc.cfg, 97)
			g := make([]float64, len(x))
			p.Eval(g, x)
			gmax := maxAbs(g)
			xp := make([]float64, len(x))
			worst := 0.0
			for i := range x {
				e := make([]float64, len(x))
				e[i] = 1
				worst = math.Max(worst, math.Abs(fdDerivative(p, x, e, xp)-g[i])/gmax)
			}
			if worst > 1e-6 {
				t.Errorf("coordinate-wise relative error %.3g > 1e-6", worst)
			}
			worstDir := checkDirectional(t, rng, p, x, g, xp)
			t.Logf("%d scales, max relative error: coordinate-wise %.2g, directional %.2g", p.C.Scales(), worst, worstDir)
		})
	}
}

// TestScalogramPreconditionedStepIsLeastSquares: with periodic boundary, x − D⁻¹∇F(x) is the
// least-squares resynthesis of S = T·W/|W|, so re-analysing it and projecting again is a fixed
// point at the true signal, and D⁻¹ inverts the frame operator: D⁻¹∇‖CWT(x)‖² = x.
func TestScalogramPreconditionedStepIsLeastSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{64, 101, 300} {
		c := mustCWT(t, CWTConfig{IncludeLowpass: true, Cutoff: 100}, n)
		x := randSignal(rng, n)
		// F with a zero target (and zero scaling coefficients) is ‖Ax‖²; its gradient is Dx.
		zero := make([]float64, c.Scales()*n)
		p, err := NewScalogramProblem(c, zero, make([]float64, n))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, n)
		p.Eval(g, x)
		p.Precondition(g)
		worst := 0.0
		for i := range x {
			worst = math.Max(worst, math.Abs(g[i]-x[i]))
		}
		// Exact except where the filter bank's response is below the 1e-4 floor.
		if worst > 1e-3*maxAbs(x) {
			t.Errorf("n=%d: max |D⁻¹Dx − x| = %.3g", n, worst)
		}
		// At the true signal the inconsistency vanishes.
		q, _ := NewScalogramProblem(c, c.Magnitude(nil, x), c.Lowpass(nil, x))
		if inc := q.Inconsistency(x); inc > 1e-3 {
			t.Errorf("n=%d: inconsistency at the true signal %.3g", n, inc)
		}
	}
}

// morletTime is the closed-form time-domain analytic Morlet wavelet of ψ̂(ω) = 2·exp(−(ω−6)²/2):
// ψ(t) = √(2/π)·exp(6it − t²/2) (the one-sided cut of the Gaussian at ω = 0 is below 1e-7).
func morletTime(t float64) complex128 {
	return complex(math.Sqrt(2/math.Pi)*math.Exp(-t*t/2), 0) * cmplx.Exp(complex(0, 6*t))
}

// TestCWTAgainstTimeDomainConvolution compares the frequency-domain Morlet CWT with a direct
// circular convolution with the closed-form wavelet (1/s)·ψ(t/s), an independent computation,
// at the scales whose response is negligible above Nyquist (where sampling the continuous
// wavelet does not alias).
func TestCWTAgainstTimeDomainConvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	n := 256
	c := mustCWT(t, CWTConfig{Wavelet: Wavelet{Family: Morlet}}, n)
	x := randSignal(rng, n)
	w := c.Forward(nil, x)
	checked := 0
	for j, s := range c.ScaleValues() {
		if c.cfg.Wavelet.Response(s*math.Pi) > 1e-9 || s > float64(n)/10 {
			continue // aliased at Nyquist, or too wide for the period
		}
		checked++
		worst, peak := 0.0, 0.0
		for b := 0; b < n; b++ {
			var sum complex128
			for tt := 0; tt < n; tt++ {
				d := b - tt
				for _, shift := range []int{-n, 0, n} { // periodised wavelet
					sum += complex(x[tt], 0) * morletTime(float64(d+shift)/s) / complex(s, 0)
				}
			}
			worst = math.Max(worst, cmplx.Abs(sum-w[j*n+b]))
			peak = math.Max(peak, cmplx.Abs(sum))
		}
		if worst > 1e-6*peak {
			t.Errorf("scale %d (s = %.3g): max deviation %.3g of peak %.3g", j, s, worst, peak)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d scales checked", checked)
	}
}

// TestCWTAgainstReference compares with values computed by numpy's direct time-domain
// convolution (testdata/cwt_reference.py → testdata/cwt_morlet_reference.json).
func TestCWTAgainstReference(t *testing.T) {
	raw, err := os.ReadFile("testdata/cwt_morlet_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Signal     []float64   `json:"signal"`
		FreqLimits [2]float64  `json:"freq_limits"`
		Voices     int         `json:"voices"`
		Scales     []float64   `json:"scales"`
		Re         [][]float64 `json:"re"`
		Im         [][]float64 `json:"im"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	n := len(ref.Signal)
	c := mustCWT(t, CWTConfig{Wavelet: Wavelet{Family: Morlet}, FreqLimits: ref.FreqLimits, VoicesPerOctave: ref.Voices}, n)
	w := c.Forward(nil, ref.Signal)
	for i, s := range ref.Scales {
		j := -1
		for k, v := range c.ScaleValues() {
			if math.Abs(v-s) < 1e-9*s {
				j = k
			}
		}
		if j < 0 {
			t.Fatalf("reference scale %g not among the CWT's scales", s)
		}
		worst, peak := 0.0, 0.0
		for b := 0; b < n; b++ {
			want := complex(ref.Re[i][b], ref.Im[i][b])
			worst = math.Max(worst, cmplx.Abs(w[j*n+b]-want))
			peak = math.Max(peak, cmplx.Abs(want))
		}
		if worst > 1e-6*peak {
			t.Errorf("scale %g: max deviation %.3g of peak %.3g", s, worst, peak)
		}
	}
}

func TestCWTFreqBounds(t *testing.T) {
	// Cutoff 100 puts the finest scale's peak at Nyquist.
	_, hi, err := CWTFreqBounds(2048, 2048, Wavelet{Family: Morlet}, 100)
	if err != nil || math.Abs(hi-1024) > 1e-9 {
		t.Fatalf("amor cutoff 100: fmax %v, %v; want 1024 Hz", hi, err)
	}
	// Cutoff 50: the response at Nyquist of the finest scale is half its peak.
	w, _ := ParseWavelet("morse")
	lo, hi, err := CWTFreqBounds(1000, 1, w, 50)
	if err != nil {
		t.Fatal(err)
	}
	s0 := w.PeakFrequency() / (2 * math.Pi * hi)
	if r := w.Response(s0*math.Pi) / 2; math.Abs(r-0.5) > 1e-9 {
		t.Errorf("response at Nyquist %.6f of peak, want 0.5", r)
	}
	// Two time standard deviations of the coarsest scale span the signal.
	smax := w.PeakFrequency() / (2 * math.Pi * lo)
	if got := 2 * w.TimeSpread() * smax; math.Abs(got-1000) > 1e-6 {
		t.Errorf("2σ_t·s_max = %v, want 1000", got)
	}
	// A Morse wavelet's time spread against its closed form for γ = 2 (Gaussian-like): check the
	// numerical integral on Morlet, where σ_t of |ψ|² = exp(−t²) is 1/√2.
	if st := (Wavelet{Family: Morlet}).TimeSpread(); math.Abs(st-1/math.Sqrt2) > 1e-6 {
		t.Errorf("Morlet σ_t = %.8f, want 1/√2", st)
	}
}

func TestCWTBadInput(t *testing.T) {
	for _, tc := range []struct {
		cfg    CWTConfig
		n      int
		substr string
	}{
		{CWTConfig{}, 3, "at least 4 samples"},
		{CWTConfig{Wavelet: Wavelet{Gamma: 3, Beta: 60}}, 6, "too short"},
		{CWTConfig{VoicesPerOctave: -1}, 1000, "voices per octave"},
		{CWTConfig{VoicesPerOctave: 49}, 1000, "voices per octave"},
		{CWTConfig{SampleRate: 1000, FreqLimits: [2]float64{10, 600}}, 1000, "fs/2"},
		{CWTConfig{SampleRate: 1000, FreqLimits: [2]float64{-1, 100}}, 1000, "0 < fmin"},
		{CWTConfig{SampleRate: 1000, FreqLimits: [2]float64{200, 100}}, 1000, "0 < fmin"},
		{CWTConfig{SampleRate: 1000, FreqLimits: [2]float64{100, 105}, VoicesPerOctave: 4}, 1000, "less than one voice"},
		{CWTConfig{Wavelet: Wavelet{Gamma: 3, Beta: 2}}, 1000, "β ≥ γ"},
		{CWTConfig{Cutoff: 120}, 1000, "cutoff"},
	} {
		_, err := NewCWT(tc.cfg, tc.n)
		if err == nil || !strings.Contains(err.Error(), tc.substr) {
			t.Errorf("NewCWT(%+v, %d) = %v, want an error containing %q", tc.cfg, tc.n, err, tc.substr)
		}
	}
	for _, s := range []string{"haar", "morse:3", "amor:1,2", "morse:a,b"} {
		if _, err := ParseWavelet(s); err == nil {
			t.Errorf("ParseWavelet(%q) accepted", s)
		}
	}
	c := mustCWT(t, CWTConfig{}, 200)
	mag := make([]float64, c.Scales()*200)
	mag[3*200+17] = math.NaN()
	if _, err := NewScalogramProblem(c, mag, nil); err == nil || !strings.Contains(err.Error(), "frame 3, bin 17") {
		t.Errorf("NaN magnitude: %v", err)
	}
	if _, err := NewScalogramProblem(c, mag[:10], nil); err == nil {
		t.Error("short scalogram accepted")
	}
	cl := mustCWT(t, CWTConfig{IncludeLowpass: true}, 200)
	good := make([]float64, cl.Scales()*200)
	for _, v := range []float64{math.NaN(), 1e300, -2 * MaxMagnitude} {
		low := make([]float64, 200)
		low[9] = v
		if _, err := NewScalogramProblem(cl, good, low); err == nil || !strings.Contains(err.Error(), "sample 9") {
			t.Errorf("scaling coefficient %v: %v", v, err)
		}
	}
}

// TestScalogramChirp is the seeds' experiment: the exponential chirp (N = 2048, fs = 2048 Hz,
// 1 → 1024 Hz, plus 1), padded by at least 10 samples at each end as the seeds' helper does,
// Morse (3, 20) with the frequency limits of cwtfreqbounds(…, Cutoff=100, wavelet="amor") and
// the scaling coefficients, recovered from seeded noise by L-BFGS. MATLAB's run stopped at a
// normalised inconsistency of 8.0e-6 after 255 iterations.
func TestScalogramChirp(t *testing.T) {
	x := LogChirp(2048, 2048, 1, 1024)
	for i := range x {
		x[i]++
	}
	l, r := ScalogramPadding(len(x), 10)
	xp := PadSymmetric(x, l, r)
	lo, hi, err := CWTFreqBounds(len(xp), 2048, Wavelet{Family: Morlet}, 100)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCWT(t, CWTConfig{SampleRate: 2048, FreqLimits: [2]float64{lo, math.Nextafter(hi, 0)}, IncludeLowpass: true}, len(xp))
	p, err := NewScalogramProblem(c, c.Magnitude(nil, xp), c.Lowpass(nil, xp))
	if err != nil {
		t.Fatal(err)
	}
	res, err := InvertScalogram(p, Options{Optimizer: LBFGS, MaxIter: 1500, Tol: 1e-5, Init: InitNoise, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rel := RelativeL2(x, res.Signal[l:l+len(x)])
	t.Logf("%d scales, %d iterations (%v), inconsistency %.3g, relative L2 %.4f, scalogram SC %.1f dB",
		c.Scales(), res.Iterations, res.Stop, res.Inconsistency, rel, DB(p.SpectralConvergence(res.Signal)))
	if rel > 0.05 {
		t.Errorf("relative L2 %.4f > 0.05", rel)
	}
	if res.Inconsistency > 1e-5 || res.Stop != Converged {
		t.Errorf("normalised inconsistency %.3g (%v), want ≤ 1e-5", res.Inconsistency, res.Stop)
	}
}

// TestAlignGlobalPhase: a signal whose analytic part is rotated by θ has the same scalogram; the
// scaling coefficients pin θ and AlignGlobalPhase undoes it.
func TestAlignGlobalPhase(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	n := 301 // odd: no Nyquist bin, which the rotation leaves alone
	c := mustCWT(t, CWTConfig{IncludeLowpass: true, Cutoff: 100}, n)
	x := randSignal(rng, n)
	p, _ := NewScalogramProblem(c, c.Magnitude(nil, x), c.Lowpass(nil, x))
	spec := make([]complex128, n)
	for i, v := range x {
		spec[i] = complex(v, 0)
	}
	c.plan.Forward(spec, spec)
	for k := 1; 2*k < n; k++ {
		spec[k] *= cisPhase(1.2)
		spec[n-k] *= cisPhase(-1.2)
	}
	c.plan.Inverse(spec, spec)
	y := make([]float64, n)
	for i := range y {
		y[i] = real(spec[i]) / float64(n)
	}
	p0 := NewScalogramProblemMust(t, c, x)
	if sc := p0.SpectralConvergence(y); sc > 1e-6 {
		t.Fatalf("rotated signal's scalogram differs: SC %.3g", sc)
	}
	th := p.AlignGlobalPhase(y)
	if math.Abs(th+1.2) > 1e-6 {
		t.Errorf("θ = %.8f, want −1.2", th)
	}
	if rel := RelativeL2(x, y); rel > 1e-9 {
		t.Errorf("after alignment relative L2 %.3g", rel)
	}
}

func NewScalogramProblemMust(t *testing.T, c *CWT, x []float64) *ScalogramProblem {
	t.Helper()
	var low []float64
	if c.HasLowpass() {
		low = c.Lowpass(nil, x)
	}
	p, err := NewScalogramProblem(c, c.Magnitude(nil, x), low)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzParseWavelet: any name either fails or gives a wavelet whose response peaks at 2 at its
// peak frequency.
func FuzzParseWavelet(f *testing.F) {
	for _, s := range []string{"morse", "morse:3,60", "amor", "morlet", "bump", "morse:1,1", "morse:3,", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWavelet(s)
		if err != nil {
			return
		}
		if v := w.Response(w.PeakFrequency()); math.Abs(v-2) > 1e-9 {
			t.Fatalf("ParseWavelet(%q) = %v: peak response %v, want 2", s, w, v)
		}
	})
}

// ExampleInvertScalogram recovers the seeds' exponential chirp from its scalogram and scaling
// coefficients, as MATLAB's cwtmag2sig does.
func ExampleInvertScalogram() {
	x := LogChirp(2048, 2048, 1, 1024)
	for i := range x {
		x[i]++
	}
	left, right := ScalogramPadding(len(x), 10)
	xp := PadSymmetric(x, left, right)
	lo, hi, _ := CWTFreqBounds(len(xp), 2048, Wavelet{Family: Morlet}, 100) // the seeds' limits
	c, _ := NewCWT(CWTConfig{SampleRate: 2048, FreqLimits: [2]float64{lo, math.Nextafter(hi, 0)}, IncludeLowpass: true}, len(xp))
	defer c.Close()
	p, _ := NewScalogramProblem(c, c.Magnitude(nil, xp), c.Lowpass(nil, xp))
	res, _ := InvertScalogram(p, Options{Optimizer: LBFGS, MaxIter: 1500, Tol: 1e-5, Init: InitNoise, Seed: 1})
	y := res.Signal[left : left+len(x)]
	fmt.Printf("%d scales; converged: %v; relative L2 below 0.05: %v\n", c.Scales(), res.Stop == Converged, RelativeL2(x, y) < 0.05)
	// Output: 97 scales; converged: true; relative L2 below 0.05: true
}
