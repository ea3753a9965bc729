package retrieval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMelAnchorPenaltyGradient checks the anchored mel penalty as a FrameLoss penalty (target
// rows [M | Ŝ]) against fourth-order central differences over a frame range with a fixed prefix,
// for every power and compression, with the anchor large enough to matter.
func TestMelAnchorPenaltyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const nfft, hop, frames = 64, 16, 9
	bins := nfft/2 + 1
	win := Hann.Samples(nil, nfft, PeriodicWindow, 0)
	mel, err := NewMel(MelConfig{SampleRate: 8000, NFFT: nfft, NMels: 12, FMin: 50, Scale: MelHTK})
	if err != nil {
		t.Fatal(err)
	}
	nm := mel.NMels()
	for _, lc := range melLossCases() {
		lc.loss.TopDB = 0
		pen, err := NewMelPenalty(mel, lc.loss)
		if err != nil {
			t.Fatal(err)
		}
		a := pen.Anchored()
		if a.Width() != nm+bins {
			t.Fatalf("Width %d, want %d", a.Width(), nm+bins)
		}
		a.SetWeight(0.7)
		f := NewFrameLoss(nfft, hop, win)
		defer f.Close()
		f.SetPenalty(a)
		lin := make([]float64, frames*nm)
		for i := range lin {
			lin[i] = math.Abs(rng.NormFloat64()) * 40
		}
		m := compress(t, lc.loss, lin)
		tgt := make([]float64, frames*(nm+bins))
		for r := range frames {
			copy(tgt[r*(nm+bins):], m[r*nm:(r+1)*nm])
			for k := range bins {
				tgt[r*(nm+bins)+nm+k] = math.Abs(rng.NormFloat64()) * 3
			}
		}
		checkRestricted(t, "anchored mel "+lc.name, rng, f, tgt, frames)
	}
}

// TestMelAnchorPenaltyValue: the anchored penalty is the mel penalty plus μ·Σ c_k(|X_k| − Ŝ_k)²,
// and with μ = 0 it equals the mel penalty, gradient included.
func TestMelAnchorPenaltyValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const nfft = 64
	bins := nfft/2 + 1
	mel, err := NewMel(MelConfig{SampleRate: 8000, NFFT: nfft, NMels: 12})
	if err != nil {
		t.Fatal(err)
	}
	nm := mel.NMels()
	for _, loss := range []MelLoss{{}, {Power: 2}} {
		pen, err := NewMelPenalty(mel, loss)
		if err != nil {
			t.Fatal(err)
		}
		a := pen.Anchored()
		row := make([]float64, nm+bins)
		for i := range row {
			row[i] = math.Abs(rng.NormFloat64()) * 5
		}
		spec := make([]complex128, bins)
		for k := range spec {
			spec[k] = complex(rng.NormFloat64()*4, rng.NormFloat64()*4)
		}
		spec[0], spec[bins-1] = complex(real(spec[0]), 0), complex(real(spec[bins-1]), 0)
		plain := pen.Penalty(append([]complex128(nil), spec...), row[:nm], false)
		want := 0.0
		for k, v := range spec {
			d := math.Hypot(real(v), imag(v)) - row[nm+k]
			c := 2.0
			if k == 0 || k == bins-1 {
				c = 1
			}
			want += c * d * d
		}
		a.SetWeight(0.3)
		if got := a.Penalty(append([]complex128(nil), spec...), row, false); math.Abs(got-(plain+0.3*want)) > 1e-12*got {
			t.Errorf("power %g: anchored %g, want %g + 0.3·%g", loss.Power, got, plain, want)
		}
		a.SetWeight(0)
		g1, g2 := append([]complex128(nil), spec...), append([]complex128(nil), spec...)
		f1, f2 := pen.Penalty(g1, row[:nm], true), a.Penalty(g2, row, true)
		if f1 != f2 {
			t.Errorf("power %g, μ = 0: %g, want %g", loss.Power, f2, f1)
		}
		for k := range g1 {
			if g1[k] != g2[k] {
				t.Fatalf("power %g, μ = 0: gradient bin %d %v, want %v", loss.Power, k, g2[k], g1[k])
			}
		}
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetWeight(%g) did not panic", bad)
				}
			}()
			(&MelPenalty{}).Anchored().SetWeight(bad)
		}()
	}
}
