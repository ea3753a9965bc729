package live_test

import (
	"context"
	"fmt"
	"math"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/device"
	"github.com/rephase/rephase/stream/effect"
	"github.com/rephase/rephase/stream/live"
)

// counter is a live.Sink that counts the output samples and keeps their peak.
type counter struct {
	n    int
	peak float32
}

func (c *counter) Write(b []float32) error {
	c.n += len(b)
	for _, v := range b {
		c.peak = max(c.peak, v, -v)
	}
	return nil
}

// Run without a device: one second of a 440 Hz sine carrying a click every quarter second, a
// band gain, and the engine at 8 iterations per hop. The clicks come out the file delay
// (n_fft + ℓ·hop − hop) later, and the output is that much longer than the input. With a device.Stream as Config.Device and Budget set instead of
// ItersPerHop, the same lines run in real time.
func ExampleRun() {
	const rate = 16000
	sine := &device.Sine{Freq: 440, Amp: 0.25, Rate: rate, ClickEvery: rate / 4, ClickAmp: 0.5}
	x32 := make([]float32, rate)
	sine.Fill(x32)
	x := make([]float64, len(x32))
	for i, v := range x32 {
		x[i] = float64(v)
	}
	stft, _ := retrieval.Config{NFFT: 512, Hop: 128, Framing: retrieval.Full}.Resolve()
	chain, err := effect.NewChain([]string{"gain:300-3000:-6"}, stft, rate, effect.FixedFrameRate)
	if err != nil {
		panic(err)
	}
	var out counter
	rep, err := live.Run(context.Background(), live.Config{
		Engine:  stream.Config{STFT: stft, SampleRate: rate, ItersPerHop: 8, Lookahead: 3},
		Effects: chain,
		Input:   x,
		Probe:   sine,
		Sinks:   []live.Sink{&out},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, effects: %s\n", rep.Mode, rep.Effects)
	fmt.Printf("%d samples in, %d out (file delay %d)\n", len(x), out.n, rep.FileDelaySamples)
	near := true // phase retrieval smears a click over a few samples
	for _, ms := range rep.Probes.LatenciesMS {
		near = near && math.Abs(ms-rep.FileDelayMS) < 2
	}
	fmt.Printf("%d clicks came out %.0f ms later, ±2 ms: %v\n", rep.Probes.Count, rep.FileDelayMS, near)
	// Output:
	// file, effects: gain -6 dB on 300–3000 Hz
	// 16000 samples in, 16768 out (file delay 768)
	// 4 clicks came out 48 ms later, ±2 ms: true
}
