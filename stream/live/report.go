package live

import (
	"encoding/json"
	"github.com/rephase/rephase/retrieval/fft"
	"math"
	"sort"
	"time"

	"github.com/rephase/rephase/stream"
)

// EngineReport is what every streaming run reports about its engine: the configuration, the
// latencies (docs/design.md, "The streaming engine and its latency"), in milliseconds and in
// samples at SampleRate, and the per-hop compute statistics. The JSON keys are those of
// `rephase stream|synth|live --json`. RTF is NaN when it means nothing (a paced run, whose wall
// time is the audio's by construction): encoding/json refuses NaN, rephase's writer prints null.
type EngineReport struct {
	NFFT      int    `json:"n_fft"`
	HopLength int    `json:"hop_length"`
	WinLength int    `json:"win_length"`
	Window    string `json:"window"`
	Lookahead int    `json:"lookahead"`
	Optimizer string `json:"optimizer"`
	WarmStart string `json:"warm_start"`
	// Precision of the loss's frame passes, "float64" or "float32" (stream.Config.Precision;
	// a mel engine computes in float64).
	Precision  string `json:"precision"`
	SampleRate int    `json:"sample_rate"` // Hz
	// Budget is the deadline mode's fraction of the hop duration (0: fixed iterations).
	Budget float64 `json:"budget"`
	// LatencyMS and LatencySamples are the total latency, devices excluded: the engine's audio →
	// audio latency, which a live run replaces with file delay + output buffering.
	LatencyMS      float64 `json:"latency_ms"`
	LatencySamples int     `json:"latency_samples"`
	// The engine's latencies (stream.Latency): audio → audio, frames → audio, file delay.
	AlgorithmicLatencyMS      float64 `json:"algorithmic_latency_ms"`
	AlgorithmicLatencySamples int     `json:"algorithmic_latency_samples"`
	FramesLatencyMS           float64 `json:"frames_latency_ms"`
	FramesLatencySamples      int     `json:"frames_latency_samples"`
	FileDelayMS               float64 `json:"file_delay_ms"`
	FileDelaySamples          int     `json:"file_delay_samples"`
	// RTF is the real-time factor: compute seconds per second of audio.
	RTF float64 `json:"rtf"`
	// Per-frame compute time (ms): median, 99th percentile, maximum.
	BlockMSP50 float64 `json:"block_ms_p50"`
	BlockMSP99 float64 `json:"block_ms_p99"`
	BlockMSMax float64 `json:"block_ms_max"`
	// DeadlineMisses counts frames whose compute exceeded the hop duration.
	DeadlineMisses int64 `json:"deadline_misses"`
	// Optimizer iterations per hop: mean, median, 99th percentile.
	IterationsPerHop    float64 `json:"iterations_per_hop"`
	IterationsPerHopP50 int     `json:"iterations_per_hop_p50"`
	IterationsPerHopP99 int     `json:"iterations_per_hop_p99"`
	Frames              int64   `json:"frames"` // frames pushed
	// A mel engine's (stream.Config.Mel) bands, resolved warm start ("harmonic" or "ls") and
	// anchor weight (0: none); absent for a magnitude engine.
	NMels     int      `json:"n_mels,omitempty"`
	MelStart  string   `json:"mel_start,omitempty"`
	MelAnchor *float64 `json:"mel_anchor,omitempty"`
}

// NewEngineReport collects e's figures after a run of audioSeconds of audio that took
// computeSeconds (for the real-time factor). Call it from the goroutine that ran e.
func NewEngineReport(e *stream.Engine, audioSeconds, computeSeconds float64) EngineReport {
	st := e.Stats()
	lat := e.Latency()
	c := e.Config()
	rate := c.SampleRate
	prec := c.Precision
	if c.Mel != nil {
		prec = fft.Float64
	}
	r := EngineReport{
		NFFT: c.STFT.NFFT, HopLength: c.STFT.Hop, WinLength: c.STFT.WinLength, Window: c.STFT.Window.String(),
		Lookahead: c.Lookahead, Optimizer: c.Optimizer.String(), WarmStart: c.WarmStart.String(),
		Precision: prec.String(), SampleRate: rate, Budget: c.Budget,
		LatencyMS: samplesMS(lat.AudioToAudio, rate), LatencySamples: lat.AudioToAudio,
		AlgorithmicLatencyMS: samplesMS(lat.AudioToAudio, rate), AlgorithmicLatencySamples: lat.AudioToAudio,
		FramesLatencyMS: samplesMS(lat.FramesToAudio, rate), FramesLatencySamples: lat.FramesToAudio,
		FileDelayMS: samplesMS(lat.FileDelay, rate), FileDelaySamples: lat.FileDelay,
		RTF:        computeSeconds / math.Max(audioSeconds, 1e-12),
		BlockMSP50: ms(st.Percentile(50)), BlockMSP99: ms(st.Percentile(99)), BlockMSMax: ms(st.Max),
		DeadlineMisses:   st.DeadlineMisses,
		IterationsPerHop: st.IterationsPerFrame(), IterationsPerHopP50: st.IterationsPercentile(50),
		IterationsPerHopP99: st.IterationsPercentile(99),
		Frames:              st.Frames,
	}
	if c.Mel != nil {
		a := max(c.MelAnchor, 0)
		r.NMels, r.MelStart, r.MelAnchor = c.Mel.NMels, c.MelStart.String(), &a
	}
	return r
}

// ms converts d to milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// samplesMS converts n samples at rate Hz to milliseconds.
func samplesMS(n, rate int) float64 { return 1000 * float64(n) / float64(rate) }

// Report is what Run reports. The JSON keys are those of `rephase live --json`; the groups that
// only some runs have (Device, Probes) are flattened into the same object when present.
type Report struct {
	EngineReport
	Mode    string `json:"mode"`    // "file" (offline) or "realtime" (with a Device)
	Input   string `json:"input"`   // the input's name, for the caller to fill
	Output  string `json:"output"`  // the output's name, for the caller to fill
	Effects string `json:"effects"` // the effect chain (effect.Chain.String), "none" without one
	// Seconds is the run's wall-clock time.
	Seconds float64 `json:"seconds"`
	// Stretch is the effect chain's time-stretch factor (offline runs only; 0 with a Device).
	Stretch float64 `json:"stretch,omitempty"`
	// Interrupted: the context was cancelled before the end of the input; the engine was drained
	// and the output of what was read delivered all the same.
	Interrupted bool `json:"interrupted"`
	// Record names the recording, for the caller to fill (empty: none).
	Record string `json:"record,omitempty"`
	// Device holds the device's figures (nil offline).
	*DeviceReport `json:"-"`
	// Probes holds the latency measured on the probe's clicks (nil without a probe, or when no
	// click was found).
	*Probes `json:"-"`
}

// MarshalJSON writes r as one flat JSON object: the fields of Report, then those of Device and
// Probes when they are not nil (encoding/json's flattening of embedded struct pointers; it is
// spelt out so that encoders which walk structs themselves get the same object). Every float of a
// Report is finite.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	return json.Marshal(struct {
		plain
		*DeviceReport
		*Probes
	}{plain(r), r.DeviceReport, r.Probes})
}

// DeviceReport is what a run with a device adds to its Report.
type DeviceReport struct {
	Devices      string  `json:"devices"`       // device.Stream.Description
	AudioSeconds float64 `json:"audio_seconds"` // input audio processed
	// Load is the engine's compute time per second of audio.
	Load float64 `json:"load"`
	// The output prefill: silence written to the output ring before the first block, which does
	// the work of the hop of block buffering that Latency().AudioToAudio counts.
	BufferLatencyMS      float64 `json:"buffer_latency_ms"`
	BufferLatencySamples int     `json:"buffer_latency_samples"`
	// DeviceLatencyMS is PortAudio's estimate of the devices' own latencies.
	DeviceLatencyMS InOut `json:"device_latency_ms"`
	FramesPerBuffer int   `json:"frames_per_buffer"`
	// The device's counters (device.Stats).
	Callbacks  uint64 `json:"callbacks"`
	Xruns      uint64 `json:"xruns"`
	XrunFrames uint64 `json:"xrun_frames"`
	// FirstXrunS is when the first xrun began, in seconds of output (absent without xruns).
	FirstXrunS         *float64 `json:"first_xrun_s,omitempty"`
	InputDropped       uint64   `json:"input_dropped"`
	OutputRingOverflow uint64   `json:"output_ring_overflow"` // output samples the worker found no room for
	PortAudioFlags     PAFlags  `json:"portaudio_flags"`
	CPULoad            float64  `json:"cpu_load"`
	// RealtimePriority: the worker ran with SCHED_FIFO; RealtimePriorityError says why not, when
	// it was asked for and refused.
	RealtimePriority      bool   `json:"realtime_priority"`
	RealtimePriorityError string `json:"realtime_priority_error,omitempty"`
}

// InOut is an input and an output figure.
type InOut struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// PAFlags counts the callbacks on which PortAudio reported each status flag.
type PAFlags struct {
	InputUnderflow  uint64 `json:"input_underflow"`
	InputOverflow   uint64 `json:"input_overflow"`
	OutputUnderflow uint64 `json:"output_underflow"`
	OutputOverflow  uint64 `json:"output_overflow"`
}

// Probes is the end-to-end latency measured on a probe's clicks (see MeasureProbes).
type Probes struct {
	MeasuredLatencyMS       float64   `json:"measured_latency_ms"`        // the median
	MeasuredLatencySpreadMS float64   `json:"measured_latency_spread_ms"` // max − min
	Count                   int       `json:"probes"`
	LatenciesMS             []float64 `json:"probe_latencies_ms"` // in order of the clicks
}

// NewProbes summarises probes measured at rate Hz; nil if there are none.
func NewProbes(probes []Probe, rate int) *Probes {
	if len(probes) == 0 {
		return nil
	}
	lats := make([]float64, len(probes))
	for i, p := range probes {
		lats[i] = samplesMS(p.Out-p.In, rate)
	}
	sorted := append([]float64(nil), lats...)
	sort.Float64s(sorted)
	return &Probes{MeasuredLatencyMS: sorted[len(sorted)/2], MeasuredLatencySpreadMS: sorted[len(sorted)-1] - sorted[0],
		Count: len(probes), LatenciesMS: lats}
}

// StreamReport is what Stream reports. The JSON keys are those of `rephase stream --json`; the
// pointers are absent when nil. SCDB is −Inf for a silent input, which encoding/json refuses and
// rephase's writer prints as null.
type StreamReport struct {
	EngineReport
	Input          string  `json:"input"`  // the input's name, for the caller to fill
	Output         string  `json:"output"` // the output's name, for the caller to fill
	Channels       int     `json:"channels"`
	Seconds        float64 `json:"seconds"`        // wall-clock time
	OutputSamples  int64   `json:"output_samples"` // per channel
	ClippedSamples *int64  `json:"clipped_samples,omitempty"`
	// SCDB is the spectral convergence of the output against the input, the mean over the
	// channels, in dB (with compensation and not interrupted only).
	SCDB *float64 `json:"sc_db,omitempty"`
	// Paced runs only: output underruns (hops) and input samples per channel dropped because
	// the input ring was full.
	Xruns        *uint64 `json:"xruns,omitempty"`
	InputDropped *uint64 `json:"input_dropped,omitempty"`
	Interrupted  bool    `json:"interrupted,omitempty"`
	// Streams has one entry per channel, in order; Pool is the pool that ran them.
	Streams []StreamEntry `json:"streams"`
	Pool    *PoolReport   `json:"pool"`
	// Stats are the first channel's engine statistics (for plots; not in the JSON).
	Stats stream.Stats `json:"-"`
}

// StreamEntry is one stream (one channel of one input) of a Stream or StreamMulti run: its
// engine's figures, with RTF the engine's own compute time per second of its audio (the pool
// runs streams in parallel, so wall time is the pool's), and its times in the pool's rounds.
type StreamEntry struct {
	EngineReport
	Input      string `json:"input"`  // the input's name, for the caller to fill
	Output     string `json:"output"` // the output's name, for the caller to fill
	InputIndex int    `json:"-"`      // the input's index in MultiConfig.Inputs (0 for Stream)
	Channel    int    `json:"channel"`
	// OutputSamples counts the samples of the channel written to its output.
	OutputSamples int64 `json:"output_samples"`
	// ClippedSamples counts the samples of the whole output file clipped by a 16-bit
	// encoding, for the caller to fill (absent: not counted).
	ClippedSamples *int64 `json:"clipped_samples,omitempty"`
	// SCDB is the channel's spectral convergence against its input in dB (with compensation,
	// when the run measured it).
	SCDB *float64 `json:"sc_db,omitempty"`
	// The time from the start of each round to the end of the stream's frame in it (ms, queueing
	// for a worker included: stream.Pool.RoundStats), and the rounds in which that exceeded the
	// hop duration.
	RoundMSP50          float64 `json:"round_ms_p50"`
	RoundMSP99          float64 `json:"round_ms_p99"`
	RoundDeadlineMisses int64   `json:"round_deadline_misses"`
}

// PoolReport is the stream.Pool's figures of a run: its size and its rounds (each one frame of
// every stream that had one, on all workers).
type PoolReport struct {
	Workers int   `json:"workers"`
	Streams int   `json:"streams"`
	Rounds  int64 `json:"rounds"`
	// Round wall times (ms): median, 99th percentile, maximum.
	RoundMSP50 float64 `json:"round_ms_p50"`
	RoundMSP99 float64 `json:"round_ms_p99"`
	RoundMSMax float64 `json:"round_ms_max"`
	// DeadlineMisses counts the rounds longer than the hop duration: an underrun of every stream
	// still waiting in them, had the run been in real time.
	DeadlineMisses int64 `json:"deadline_misses"`
	// RTF is the run's wall time per second of audio, all streams counted.
	RTF float64 `json:"rtf"`
}

// MultiReport is what StreamMulti reports: the JSON of `rephase stream --json` with several
// inputs.
type MultiReport struct {
	Streams []StreamEntry `json:"streams"`
	Pool    PoolReport    `json:"pool"`
	Seconds float64       `json:"seconds"` // wall-clock time
	// Interrupted: the context was cancelled before the end of the inputs; the pipelines were
	// flushed and the outputs hold what was read.
	Interrupted bool `json:"interrupted,omitempty"`
}
