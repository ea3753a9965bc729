package stream_test

import (
	"fmt"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
)

// The streaming engine: magnitude frames go in one at a time (here from an Analyzer; they could
// come from a model or a frame stream), and each Push writes one hop of audio. The output is the
// signal delayed by the file delay (n_fft + ℓ·hop − hop samples), which a file output drops; Flush
// writes the tail. A fixed ItersPerHop makes the run repeatable; live use sets Budget instead.
func ExampleEngine() {
	const rate = 16000
	x := retrieval.LogChirp(rate, rate, 100, 6000) // 1 s
	e, err := stream.NewEngine(stream.Config{STFT: retrieval.Config{NFFT: 512, Hop: 128}, SampleRate: rate, Lookahead: 3, ItersPerHop: 16})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	a, err := stream.NewAnalyzer(e.Config().STFT) // causal (Full) framing, what the engine expects
	if err != nil {
		panic(err)
	}
	defer a.Close()
	var out []float64
	hop := make([]float64, e.Hop())
	push := func(mag []float64) error { // mag: n_fft/2 + 1 magnitudes
		if err := e.Push(hop, mag); err != nil {
			return err
		}
		out = append(out, hop...)
		return nil
	}
	if err := a.Write(x, push); err != nil {
		panic(err)
	}
	if err := a.Flush(push); err != nil {
		panic(err)
	}
	tail := make([]float64, e.FlushLen())
	e.Flush(tail)
	out = append(out, tail...)
	d := e.Latency().FileDelay
	y := out[d : d+len(x)]
	fmt.Printf("%d frames, %d samples out, file delay %d samples (%.0f ms)\n", a.Frames(), len(out), d, 1000*float64(d)/rate)
	fmt.Printf("SC %.0f dB at %d iterations per hop\n", retrieval.STFTSpectralConvergenceDB(e.Config().STFT, x, y), e.Config().ItersPerHop)
	// Output:
	// 128 frames, 17152 samples out, file delay 768 samples (48 ms)
	// SC -21 dB at 16 iterations per hop
}
