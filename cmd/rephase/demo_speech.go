package main

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/rephase/rephase/benchmarks"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream"
	"github.com/rephase/rephase/stream/wav"
)

// demoSpeech is the demo's second input, something worth listening to: espeak-ng speaking
// benchmarks.SpeechText at 16 kHz (n_fft 512, hop 128, center/reflect), inverted offline by FGLA
// from zero phase and from PGHI (iters iterations), and resynthesised by the streaming engine with
// its file defaults at look-ahead 3 and 1. It writes speech-*.wav into dir. It returns an error
// only for a failed write; without espeak-ng or sox it returns no rows and the reason.
func demoSpeech(dir string, iters int) ([]demoRow, string, error) {
	const rate = 16000
	x, err := benchmarks.Speech(rate, 0)
	if err != nil {
		return nil, err.Error() + " (scripts/setup.sh installs espeak-ng and sox)", nil
	}
	if err := wav.Write(filepath.Join(dir, "speech-original.wav"), rate, [][]float64{x}, wav.Float32); err != nil {
		return nil, "", err
	}
	cfg := retrieval.Config{NFFT: 512, Hop: 128}
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		return nil, "", err
	}
	defer s.Close()
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		return nil, "", err
	}
	var rows []demoRow
	write := func(r demoRow, y []float64) error {
		rows = append(rows, r)
		return wav.Write(r.File, rate, [][]float64{y}, wav.Float32)
	}
	for _, c := range []struct {
		file string
		init retrieval.Init
	}{{"speech-fgla.wav", retrieval.InitZero}, {"speech-pghi-fgla.wav", retrieval.InitPGHI}} {
		start := time.Now()
		res, err := retrieval.Invert(p, retrieval.Options{Optimizer: retrieval.FGLA, Init: c.init, MaxIter: iters,
			Precision: retrieval.FGLA.DefaultPrecision()})
		if err != nil {
			return nil, "", err
		}
		r := demoRow{Name: "fgla", Init: c.init.String(), Iterations: res.Iterations, Mode: "offline",
			SCdB: retrieval.DB(p.SpectralConvergence(res.Signal)), RelL2: retrieval.RelativeL2(x, res.Signal),
			Seconds: time.Since(start).Seconds(), File: filepath.Join(dir, c.file)}
		if err := write(r, res.Signal); err != nil {
			return nil, "", err
		}
	}
	for _, look := range []int{3, 1} {
		c := stream.DefaultConfig()
		c.STFT, c.SampleRate, c.Lookahead = cfg, rate, look
		e, err := stream.NewEngine(c)
		if err != nil {
			return nil, "", err
		}
		an, err := stream.NewAnalyzer(e.Config().STFT)
		if err != nil {
			e.Close()
			return nil, "", err
		}
		start := time.Now()
		y, err := stream.Resynthesize(e, an, x)
		secs := time.Since(start).Seconds()
		rc, lat := e.Config(), e.Latency()
		e.Close()
		an.Close()
		if err != nil {
			return nil, "", err
		}
		r := demoRow{Name: "stream " + rc.Optimizer.String() + " ℓ=" + strconv.Itoa(look), Init: rc.WarmStart.String(),
			Iterations: rc.ItersPerHop, Mode: "streaming", SCdB: retrieval.STFTSpectralConvergenceDB(cfg, x, y),
			RelL2: retrieval.RelativeL2(x, y), Seconds: secs, LatencyMs: 1000 * float64(lat.AudioToAudio) / rate,
			File: filepath.Join(dir, "speech-stream-l"+strconv.Itoa(look)+".wav")}
		if err := write(r, y); err != nil {
			return nil, "", err
		}
	}
	return rows, "", nil
}
