package fft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSinglePassMatchesDouble checks SinglePass against the float64 MagnitudePass over many
// lengths (powers of two and others) and input scales, including all-zero frames, tiny and huge
// magnitudes (the AVX2 map's scalar fallback), an accumulator offset and a loss-only call: the
// gradient and the loss agree to single precision's rounding through an FFT (relative 1e-5 of the
// largest value), and the loss-only call returns the same loss.
func TestSinglePassMatchesDouble(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	tol := 1e-5
	if !SinglePrecision {
		tol = 1e-12
	}
	for _, n := range []int{2, 8, 16, 30, 64, 256, 400, 512, 1000, 1024, 2048} {
		p, s := New(n), NewSinglePass(n)
		for trial := 0; trial < 4; trial++ {
			scale := []float64{1, 1e-15, 1e15, 0}[trial]
			x, win := make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64() * scale
				win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
			}
			tg := make([]float64, n/2+1)
			for i := range tg {
				tg[i] = rng.Float64() * 10 * math.Max(scale, 1e-3)
			}
			from := rng.IntN(n)
			for _, ab := range [][2]float64{{2, -2}, {0, 1}} {
				accD, accS := make([]float64, n), make([]float64, n)
				fD := p.MagnitudePass(accD, x, win, tg, ab[0], ab[1], from, make([]float64, n), make([]complex128, n/2+1))
				fS := s.MagnitudePass(accS, x, win, tg, ab[0], ab[1], from)
				fL := s.MagnitudePass(nil, x, win, tg, ab[0], ab[1], 0)
				if math.Abs(fS-fD) > tol*math.Abs(fD) || fS != fL {
					t.Fatalf("n=%d scale %g: loss %g (single) vs %g (double) vs %g (single, loss only)", n, scale, fS, fD, fL)
				}
				amax := 0.0
				for _, v := range accD {
					amax = math.Max(amax, math.Abs(v))
				}
				for i := range accD {
					if math.Abs(accS[i]-accD[i]) > tol*amax {
						t.Fatalf("n=%d scale %g α=%v: acc[%d] = %g (single) vs %g (double)", n, scale, ab[0], i, accS[i], accD[i])
					}
				}
			}
		}
		p.Close()
		s.Close()
		s.Close() // idempotent
	}
}

func TestPrecisionText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Precision
	}{{"float64", Float64}, {"Double", Float64}, {"FLOAT32", Float32}, {" single ", Float32}, {"32", Float32}} {
		var p Precision
		if err := p.UnmarshalText([]byte(c.in)); err != nil || p != c.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", c.in, p, err, c.want)
		}
		b, err := c.want.MarshalText()
		if err != nil || string(b) != c.want.String() {
			t.Errorf("MarshalText(%v) = %q, %v", c.want, b, err)
		}
	}
	var p Precision
	if err := p.UnmarshalText([]byte("half")); err == nil {
		t.Error("UnmarshalText(half) accepted")
	}
	if _, err := Precision(7).MarshalText(); err == nil {
		t.Error("MarshalText(7) accepted")
	}
}
