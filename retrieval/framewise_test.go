package retrieval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFramewiseMetricsMatchWholeSpectrogram: the frame-by-frame spectral convergence and
// inconsistency equal their whole-spectrogram definitions (Forward, Project, Inverse) for every
// framing and padding, including signals shorter than two frames.
func TestFramewiseMetricsMatchWholeSpectrogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, c := range []struct {
		cfg Config
		n   int
	}{
		{Config{NFFT: 256, Hop: 64}, 3000},
		{Config{NFFT: 256, Hop: 64, Pad: Zero}, 3001},
		{Config{NFFT: 128, Hop: 32, Framing: Full}, 1000},
		{Config{NFFT: 128, Hop: 40, WinLength: 96, Window: Hamming, Framing: Inner}, 1000},
		{Config{NFFT: 256, Hop: 64}, 300},
	} {
		x, y := make([]float64, c.n), make([]float64, c.n)
		for i := range x {
			x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		s, err := NewSTFT(c.cfg, c.n)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewProblem(s, s.Magnitude(nil, x), Loss{})
		if err != nil {
			t.Fatal(err)
		}
		wantSC := SpectralConvergence(s.Magnitude(nil, y), p.Target())
		proj := p.Project(nil, y)
		re := s.Forward(nil, s.Inverse(nil, proj))
		var num float64
		for i := range proj {
			d := re[i] - proj[i]
			num += real(d)*real(d) + imag(d)*imag(d)
		}
		var den float64
		for _, v := range p.Target() {
			den += v * v
		}
		wantInc := math.Sqrt(num / den)
		gotSC, gotInc := p.SpectralConvergence(y), p.Inconsistency(y)
		if math.Abs(gotSC-wantSC) > 1e-12*wantSC || math.Abs(gotInc-wantInc) > 1e-12*wantInc {
			t.Errorf("%+v, %d samples: SC %v want %v, inconsistency %v want %v", c.cfg, c.n, gotSC, wantSC, gotInc, wantInc)
		}
	}
}
