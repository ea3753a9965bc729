//go:build !race

package retrieval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMelProblemDoesNotAllocate: Eval (with and without a gradient) and Precondition run
// allocation-free, for every compression, through the padded frame groups.
func TestMelProblemDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, lc := range melLossCases() {
		p, x := newRandomMelProblem(t, rng, Config{NFFT: 64, Hop: 16}, MelConfig{SampleRate: 8000, NFFT: 64, NMels: 12}, lc.loss, 300)
		g := make([]float64, len(x))
		if n := testing.AllocsPerRun(20, func() {
			p.Eval(g, x)
			p.Eval(nil, x)
			p.Precondition(g)
			p.Inconsistency(x)
		}); n != 0 {
			t.Errorf("%s: %v allocations per Eval/Precondition/Inconsistency", lc.name, n)
		}
	}
}

// TestHarmonicMagnitudeDoesNotAllocate: the per-frame harmonic estimate (the mel engine's warm
// start) runs allocation-free on voiced, polyphonic and noise frames.
func TestHarmonicMagnitudeDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 5))
	x := vowelTone(rng, 110, 20)
	for i := range x {
		x[i] += 0.5*math.Sin(2*math.Pi*138.6*float64(i)/22050) + 0.3*rng.NormFloat64()*float64(i%2000)/2000
	}
	p, _ := hifiganProblem(t, x, 1)
	pen, err := NewMelPenalty(p.Mel, MelLoss{Log: LogLn})
	if err != nil {
		t.Fatal(err)
	}
	pen.PlanHarmonic(p.S.Window())
	nm := p.Mel.NMels()
	stored, scratch, got := make([]float64, nm), make([]float64, nm), make([]float64, p.S.Bins())
	f := 0
	if a := testing.AllocsPerRun(p.S.Frames()-1, func() {
		pen.Compress(stored, p.lin[f*nm:(f+1)*nm])
		pen.HarmonicMagnitude(got, stored, scratch)
		f++
	}); a != 0 {
		t.Errorf("HarmonicMagnitude allocates %.1f times per frame", a)
	}
}
