package effect_test

import (
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/effect"
)

// The vocoder path: samples in → Analyzer → effects (a Chain) → Engine → samples out, aligned
// with the input, in any block size and constant memory. Here a 440 Hz tone is shifted up three
// semitones, to 523 Hz, and the band above 2 kHz is cut by 12 dB; stream/live runs the same
// Pipeline against audio devices.
func ExampleChain() {
	const rate = 16000
	x := make([]float64, rate) // 1 s of a 440 Hz tone
	for i := range x {
		x[i] = 0.5 * math.Sin(2*math.Pi*440*float64(i)/rate)
	}
	stft, err := retrieval.Config{NFFT: 1024, Hop: 256}.Resolve()
	if err != nil {
		panic(err)
	}
	chain, err := effect.NewChain([]string{"pitch:+3", "gain:2000-8000:-12"}, stft, rate, effect.FixedFrameRate)
	if err != nil {
		panic(err)
	}
	ec := stream.DefaultConfig() // ℓ = 3, FGLA, RTPGHI warm start
	ec.STFT, ec.SampleRate, ec.ItersPerHop = stft, rate, 16
	e, err := stream.NewEngine(ec)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	a, err := stream.NewAnalyzer(e.Config().STFT)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	p, err := stream.NewPipeline(e, a, stream.Aligned) // drop the latency: output as long as the input
	if err != nil {
		panic(err)
	}
	p.SetEffects(chain)
	var y []float64
	keep := func(b []float64) error { y = append(y, b...); return nil }
	for i := 0; i < len(x); i += 100 { // blocks of any size, as from a device
		if err := p.Write(x[i:min(i+100, len(x))], keep); err != nil {
			panic(err)
		}
	}
	if err := p.Flush(keep); err != nil {
		panic(err)
	}
	fmt.Printf("effects: %s\n", chain)
	fmt.Printf("%d samples in, %d out, latency %d samples\n", len(x), len(y), e.Latency().AudioToAudio)
	fmt.Printf("strongest frequency %.0f Hz → %.0f Hz (440·2^(3/12) = %.0f)\n", peakHz(x, rate), peakHz(y, rate), 440*math.Pow(2, 3.0/12))
	// Output:
	// effects: pitch +3 semitones, gain -12 dB on 2000–8000 Hz
	// 16000 samples in, 16000 out, latency 1792 samples
	// strongest frequency 440 Hz → 521 Hz (440·2^(3/12) = 523)
}

// peakHz returns the whole frequency in 100…999 Hz where the DFT of x (1 s long) is largest.
func peakHz(x []float64, rate int) float64 {
	best, at := 0.0, 0
	mag := func(f int) float64 {
		var re, im float64
		for i, v := range x {
			re += v * math.Cos(2*math.Pi*float64(f*i)/float64(rate))
			im -= v * math.Sin(2*math.Pi*float64(f*i)/float64(rate))
		}
		return math.Hypot(re, im)
	}
	for f := 100; f < 1000; f++ {
		if m := mag(f); m > best {
			best, at = m, f
		}
	}
	return float64(at)
}
