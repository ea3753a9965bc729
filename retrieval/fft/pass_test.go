package fft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMagnitudePassMatchesReference checks the backend's MagnitudePass (the fused C kernel under
// FFTW) against the portable Go implementation on inputs that exercise every path: zero bins
// (X = 0), tiny and huge magnitudes (the AVX2 map's scalar fallback), an accumulator offset and a
// loss-only call.
func TestMagnitudePassMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{2, 8, 16, 30, 64, 512, 1000} {
		p := New(n)
		for trial := 0; trial < 4; trial++ {
			x, win := make([]float64, n), make([]float64, n)
			scale := []float64{1, 1e-20, 1e20, 0}[trial]
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
				accA, accB := make([]float64, n), make([]float64, n)
				for i := range accA {
					accA[i] = rng.NormFloat64()
					accB[i] = accA[i]
				}
				fA := p.MagnitudePass(accA, x, win, tg, ab[0], ab[1], from, make([]float64, n), make([]complex128, n/2+1))
				fB := p.magnitudePassGo(accB, x, win, tg, ab[0], ab[1], from, make([]float64, n), make([]complex128, n/2+1))
				fC := p.MagnitudePass(nil, x, win, tg, ab[0], ab[1], 0, make([]float64, n), make([]complex128, n/2+1))
				if math.Abs(fA-fB) > 1e-12*math.Abs(fB) || fA != fC {
					t.Fatalf("n=%d trial %d: loss %g (backend) vs %g (Go) vs %g (loss only)", n, trial, fA, fB, fC)
				}
				amax := 0.0
				for i := range accB {
					amax = math.Max(amax, math.Abs(accB[i]))
				}
				for i := range accA {
					if math.Abs(accA[i]-accB[i]) > 1e-12*amax {
						t.Fatalf("n=%d trial %d α=%v: acc[%d] = %g (backend) vs %g (Go)", n, trial, ab[0], i, accA[i], accB[i])
					}
				}
			}
		}
		p.Close()
	}
}

// TestMagnitudePassesMatchLoop checks that the batched passes (one cgo call under FFTW) give
// bit for bit what a loop of one-frame passes gives — the loss sum and every accumulated sample —
// for the default backend and gonum, over sizes, hops, frame counts (odd and even) and the fixed
// boundary (before, inside and beyond the frames), with and without acc. The single-precision
// batch pairs frames in one complex FFT under FFTW, so it and the looped single passes are held
// to the float64 result within single precision's rounding instead (bit for bit in the pure-Go
// build, which computes them in float64).
func TestMagnitudePassesMatchLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{8, 30, 64, 512} {
		plans := map[string]*Plan{"default": New(n), "gonum": NewGonum(n)}
		single := NewSinglePass(n)
		win := make([]float64, n)
		for i := range win {
			win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		}
		bins := n/2 + 1
		for _, hop := range []int{1, n / 4, n / 2, n} {
			for _, frames := range []int{0, 1, 2, 3, 7, 8} {
				length := max(0, frames-1)*hop + n
				x, tg := make([]float64, length), make([]float64, frames*bins)
				for i := range x {
					x[i] = rng.NormFloat64()
				}
				for i := range tg {
					tg[i] = 3 * rng.Float64()
				}
				for _, fixed := range []int{-5, 0, hop + 1, length / 2, length, length + 3} {
					for _, withAcc := range []bool{true, false} {
						loop := func(pass func(acc, x, t []float64, from int) float64) (float64, []float64) {
							var acc []float64
							if withAcc {
								acc = make([]float64, length)
							}
							return loopPasses(n, acc, x, tg, hop, frames, fixed, pass), acc
						}
						newAcc := func() []float64 {
							if withAcc {
								return make([]float64, length)
							}
							return nil
						}
						check := func(name string, fA float64, accA []float64, fB float64, accB []float64) {
							t.Helper()
							if fA != fB {
								t.Fatalf("%s n=%d hop=%d frames=%d fixed=%d: loss %v batched, %v looped", name, n, hop, frames, fixed, fA, fB)
							}
							for i := range accA {
								if accA[i] != accB[i] {
									t.Fatalf("%s n=%d hop=%d frames=%d fixed=%d: acc[%d] %v batched, %v looped", name, n, hop, frames, fixed, i, accA[i], accB[i])
								}
							}
						}
						frame, spec := make([]float64, n), make([]complex128, bins)
						for name, p := range plans {
							accA := newAcc()
							fA := p.MagnitudePasses(accA, x, win, tg, hop, frames, 2, -2, fixed, frame, spec)
							fB, accB := loop(func(acc, x, t []float64, from int) float64 {
								return p.MagnitudePass(acc, x, win, t, 2, -2, from, frame, spec)
							})
							check(name, fA, accA, fB, accB)
						}
						accA := newAcc()
						fA := single.MagnitudePasses(accA, x, win, tg, hop, frames, 2, -2, fixed)
						fB, accB := loop(func(acc, x, t []float64, from int) float64 {
							return single.MagnitudePass(acc, x, win, t, 2, -2, from)
						})
						if !SinglePrecision {
							check("single", fA, accA, fB, accB)
							continue
						}
						// Under FFTW the batch runs frames in pairs through one complex FFT, whose
						// rounding differs from the one-frame r2c pass: both must agree with the
						// float64 passes to single precision's rounding through an FFT.
						accD := newAcc()
						fD := plans["default"].MagnitudePasses(accD, x, win, tg, hop, frames, 2, -2, fixed, frame, spec)
						amax := 0.0
						for _, v := range accD {
							amax = math.Max(amax, math.Abs(v))
						}
						for name, r := range map[string]struct {
							f   float64
							acc []float64
						}{"batched": {fA, accA}, "looped": {fB, accB}} {
							if math.Abs(r.f-fD) > 1e-5*math.Abs(fD) {
								t.Fatalf("single %s n=%d hop=%d frames=%d fixed=%d: loss %v, float64 %v", name, n, hop, frames, fixed, r.f, fD)
							}
							for i := range r.acc {
								if math.Abs(r.acc[i]-accD[i]) > 1e-5*amax {
									t.Fatalf("single %s n=%d hop=%d frames=%d fixed=%d: acc[%d] %v, float64 %v", name, n, hop, frames, fixed, i, r.acc[i], accD[i])
								}
							}
						}
					}
				}
			}
		}
		for _, p := range plans {
			p.Close()
		}
		single.Close()
	}
}

// TestMagnitudePassesPanics checks the length checks of the batched passes.
func TestMagnitudePassesPanics(t *testing.T) {
	const n = 16
	p := New(n)
	defer p.Close()
	win, frame, spec := make([]float64, n), make([]float64, n), make([]complex128, n/2+1)
	for _, c := range []struct {
		name        string
		x, tg       int
		hop, frames int
	}{{"short x", n + 3, 2 * 9, 4, 2}, {"short target", n + 4, 9, 4, 2}, {"hop 0", n, 9, 0, 1}, {"negative frames", n, 9, 4, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			p.MagnitudePasses(nil, make([]float64, c.x), win, make([]float64, c.tg), c.hop, c.frames, 2, -2, 0, frame, spec)
		}()
	}
}

// TestSingleMagnitudePassesPerFrameLevels: the single-precision batch (frames paired in one complex
// FFT under FFTW) keeps each frame's own precision when neighbouring frames differ in level by up
// to 120 dB: every frame's gradient agrees with the float64 passes to 2e-5 of that frame's own
// largest gradient sample, and its loss to 2e-5 relative (hop = n, so frames do not overlap).
func TestSingleMagnitudePassesPerFrameLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{16, 512, 1024} {
		p, single := New(n), NewSinglePass(n)
		win := make([]float64, n)
		for i := range win {
			win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		}
		bins := n/2 + 1
		levels := []float64{1, 1e-2, 1, 1e-4, 1e-6, 1, 1, 1e-6, 1e3, 1} // odd and even neighbours
		frames := len(levels)
		x, tg := make([]float64, frames*n), make([]float64, frames*bins)
		for m, l := range levels {
			for i := 0; i < n; i++ {
				x[m*n+i] = l * rng.NormFloat64()
			}
			for k := 0; k < bins; k++ {
				tg[m*bins+k] = l * 3 * rng.Float64()
			}
		}
		accD, accS := make([]float64, len(x)), make([]float64, len(x))
		frame, spec := make([]float64, n), make([]complex128, bins)
		p.MagnitudePasses(accD, x, win, tg, n, frames, 2, -2, 0, frame, spec)
		single.MagnitudePasses(accS, x, win, tg, n, frames, 2, -2, 0)
		for m := range levels {
			amax := 0.0
			for _, v := range accD[m*n : (m+1)*n] {
				amax = math.Max(amax, math.Abs(v))
			}
			for i := m * n; i < (m+1)*n; i++ {
				if math.Abs(accS[i]-accD[i]) > 2e-5*amax {
					t.Fatalf("n=%d frame %d (level %g): acc[%d] %g single, %g double (frame max %g)", n, m, levels[m], i, accS[i], accD[i], amax)
				}
			}
		}
		// The loss, frame by frame: pairs of (a, b) through the batch of two.
		for m := 0; m+1 < frames; m += 2 {
			fD := p.MagnitudePasses(nil, x[m*n:(m+2)*n], win, tg[m*bins:(m+2)*bins], n, 2, 2, -2, 0, frame, spec)
			fS := single.MagnitudePasses(nil, x[m*n:(m+2)*n], win, tg[m*bins:(m+2)*bins], n, 2, 2, -2, 0)
			if math.Abs(fS-fD) > 2e-5*fD {
				t.Fatalf("n=%d frames %d, %d: loss %g single, %g double", n, m, m+1, fS, fD)
			}
		}
		p.Close()
		single.Close()
	}
}
