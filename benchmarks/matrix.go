package benchmarks

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/rephase/rephase/internal/enum"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
	"github.com/rephase/rephase/stream"
)

// Setup is one analysis configuration of the matrix.
type Setup struct {
	Name string
	Rate int // Hz
	STFT retrieval.Config
}

// Setups are the matrix's configurations: speech-rate, full-band, and high redundancy.
var Setups = []Setup{
	{"16k n512 h128", 16000, retrieval.Config{NFFT: 512, Hop: 128}},
	{"48k n2048 h512", 48000, retrieval.Config{NFFT: 2048, Hop: 512}},
	{"16k n1024 h128 (8×)", 16000, retrieval.Config{NFFT: 1024, Hop: 128}},
}

// Input is one test signal at one rate.
type Input struct {
	Name string
	X    []float64
}

// SpeechInput says whether Inputs includes espeak-ng speech.
type SpeechInput int

const (
	// NoSpeech leaves it out (quick runs). The zero value.
	NoSpeech SpeechInput = iota
	// WithSpeech includes it.
	WithSpeech
)

var speechInputNames = [...]string{"no-speech", "speech"}

// String returns "no-speech" or "speech", or "unknown(N)".
func (s SpeechInput) String() string { return enum.Name(speechInputNames[:], int(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s SpeechInput) MarshalText() ([]byte, error) {
	return enum.Marshal(speechInputNames[:], int(s), "benchmarks", "speech input")
}

// UnmarshalText implements encoding.TextUnmarshaler ("no-speech" or "speech", any case).
func (s *SpeechInput) UnmarshalText(b []byte) error {
	return enum.Unmarshal(s, speechInputNames[:], b, "benchmarks", "speech input")
}

// Inputs synthesises the matrix's signals at rate Hz, seconds long: MATLAB's exponential-chirp example
// (1 Hz → Nyquist, plus 1) stretched to the duration, espeak-ng speech (skipped, with the
// reason returned, when espeak-ng or sox is missing), a harmonic tone complex (220 Hz, 12
// harmonics at 1/k), seeded white noise and an impulse train (10 Hz). speech says whether
// the speech input is included.
func Inputs(rate int, seconds float64, speech SpeechInput) ([]Input, []string) {
	n := int(seconds * float64(rate))
	var notes []string
	chirp := retrieval.LogChirp(n, float64(rate), 1, float64(rate)/2)
	for i := range chirp {
		chirp[i] = 0.5 * (chirp[i] + 1)
	}
	ins := []Input{{"chirp", chirp}}
	if speech == WithSpeech {
		if s, err := Speech(rate, seconds); err != nil {
			notes = append(notes, "speech skipped: "+err.Error())
		} else {
			ins = append(ins, Input{"speech", s})
		}
	}
	tones := make([]float64, n)
	for i := range tones {
		t := float64(i) / float64(rate)
		for k := 1; k <= 12; k++ {
			if 220*float64(k) < float64(rate)/2 {
				tones[i] += 0.3 / float64(k) * math.Sin(2*math.Pi*220*float64(k)*t+float64(k))
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	noise := make([]float64, n)
	for i := range noise {
		noise[i] = 0.1 * rng.NormFloat64()
	}
	clicks := make([]float64, n)
	for i := rate / 20; i < n; i += rate / 10 {
		clicks[i] = 0.8
	}
	return append(ins, Input{"tones", tones}, Input{"noise", noise}, Input{"impulses", clicks}), notes
}

// Row is one measured run of the matrix.
type Row struct {
	Input, Setup   string
	Mode           string // "offline" or "streaming"
	Method         string
	Lookahead      int  `json:",omitempty"`
	ItersPerHop    int  `json:",omitempty"` // streaming: fixed K (0 with Deadline or warm start only)
	Deadline       bool `json:",omitempty"`
	Iterations     int  `json:",omitempty"` // offline
	SCdB, RelL2    float64
	Seconds        float64
	MsPerIteration float64 `json:",omitempty"`
	RTF            float64
	LatencyMs      float64 `json:",omitempty"` // streaming: algorithmic, audio in → out
	HopP50Ms       float64 `json:",omitempty"`
	HopP99Ms       float64 `json:",omitempty"`
	HopMaxMs       float64 `json:",omitempty"`
	AllocsPerHop   float64
	MeanItersHop   float64 `json:",omitempty"`
	Optimizer      string  `json:",omitempty"` // streaming
	Budget         float64 `json:",omitempty"` // streaming deadline, fraction of the hop
	ItersP50       int     `json:",omitempty"` // streaming: iterations per hop, p50 and p99
	ItersP99       int     `json:",omitempty"`
}

// ScaleRow is one point of the per-hop cost scaling table (48 kHz, noise input).
type ScaleRow struct {
	NFFT, Hop, Lookahead, K int
	P50Ms, P99Ms            float64
	RTF                     float64 // p50 / hop duration
}

// StreamsResult is the concurrency measurement: how many engines a stream.Pool runs in real time,
// with one worker (one core) and with one worker per core, side by side in one run.
type StreamsResult struct {
	Config            string
	Precision         string  // of the engines' frame passes (stream.Config.Precision)
	SinglePerHopP50Ms float64 // one engine alone, Push p50 and p99
	SinglePerHopP99Ms float64
	HopMs             float64
	Estimate          int // ⌊hop / p50⌋ per core
	Workers           int // workers of the machine-wide pool (GOMAXPROCS)
	// Sustained is the largest N whose round (one Push into each of N engines, on Workers
	// workers) stayed under the hop duration in ≥ 99 % of rounds; PerCore = Sustained / Workers.
	Sustained           int
	PerCore             float64
	RoundP50AtSustained float64
	RoundP99AtSustained float64
	MissesAtSustained   int64 // per-stream deadline misses summed over streams, at Sustained
	Rounds              int   // rounds timed per N
	// SustainedOneWorker and RoundP99OneWorker are the same search with a pool of one worker.
	SustainedOneWorker int
	RoundP99OneWorker  float64
}

// Machine describes where the matrix ran.
type Machine struct {
	CPU        string
	Cores      int
	GoVersion  string
	FFTBackend string
	OS         string
}

// Results is a whole matrix run.
type Results struct {
	Machine        Machine
	Quick          bool
	Seconds        float64 // signal duration per input
	Iters          int     // offline iterations per run
	Rows           []Row
	Anytime        []Row              // the anytime sweep (first setup): optimizers × ℓ × K and budgets
	AnytimeOffline map[string]float64 // offline FGLA SC (dB) per anytime input, AnytimeIters iterations
	AnytimeIters   int
	Scaling        []ScaleRow
	Streams        []StreamsResult // float64, then float32 frame passes
	Notes          []string
	Elapsed        float64
	hopTimes       []float64 // per-hop compute (ms) of the default engine on the plotted input
	spectro        spectroData
	plotInput      string
}

type spectroData struct {
	cfg      retrieval.Config
	rate     int
	orig, re []float64
	what     string
}

// Options configures Run.
type Options struct {
	Quick    bool
	Progress io.Writer // progress bar target (nil: none)
}

// DescribeMachine reads the CPU model from /proc/cpuinfo.
func DescribeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), FFTBackend: fft.Backend, OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

type streamCase struct {
	method    string
	cfg       stream.Config
	deadline  bool
	isDefault bool
}

func streamCases(quick bool) []streamCase {
	cs := []streamCase{
		{method: "RTPGHI", cfg: stream.Config{Lookahead: 1}},
		{method: "RTPGHI causal", cfg: stream.Config{WarmStart: stream.RTPGHICausal}},
		{method: "RTISI-LA", cfg: stream.Config{Lookahead: 3, ItersPerHop: 16, Optimizer: stream.GLA, WarmStart: stream.RTISI}},
		{method: "engine deadline 0.5", cfg: stream.Config{Lookahead: 3, Budget: 0.5}, deadline: true},
	}
	looks, ks := []int{0, 1, 2, 3}, []int{4, 16, 64, stream.DefaultFileItersPerHop}
	if quick {
		cs = cs[:3]
		cs = append(cs, streamCase{method: "engine deadline 0.5", cfg: stream.Config{Lookahead: 1, Budget: 0.5}, deadline: true})
		looks, ks = []int{1}, []int{4}
	}
	for _, l := range looks {
		for _, k := range ks {
			c := streamCase{method: "engine", cfg: stream.Config{Lookahead: l, ItersPerHop: k}}
			if l == 0 {
				c.cfg.WarmStart = stream.RTPGHICausal
			}
			c.isDefault = l == 3 && k == stream.DefaultFileItersPerHop
			cs = append(cs, c)
		}
	}
	return cs
}

// anytimeCases is the sweep of the anytime property: every optimizer at ℓ = 0, 1, 2, 3 with
// K = 16, 64, 256, 512 iterations per hop and with deadlines of 10, 25 and 50 % of the hop.
func anytimeCases(quick bool) []streamCase {
	opts := []stream.Optimizer{stream.FGLA, stream.LBFGS, stream.GLA, stream.Adam}
	looks, ks, budgets := []int{0, 1, 2, 3}, []int{16, 64, 256, 512}, []float64{0.1, 0.25, 0.5}
	if quick {
		opts, looks, ks, budgets = opts[:1], []int{1}, []int{16}, []float64{0.5}
	}
	var cs []streamCase
	for _, o := range opts {
		for _, l := range looks {
			base := stream.Config{Optimizer: o, Lookahead: l}
			if l == 0 {
				base.WarmStart = stream.RTPGHICausal
			}
			for _, k := range ks {
				c := base
				c.ItersPerHop = k
				cs = append(cs, streamCase{method: "anytime", cfg: c})
			}
			for _, b := range budgets {
				c := base
				c.Budget = b
				cs = append(cs, streamCase{method: "anytime", cfg: c, deadline: true})
			}
		}
	}
	return cs
}

// AnytimeOfflineIters is the offline FGLA run the anytime sweep compares the engine against.
const AnytimeOfflineIters = 600

// anytimeInputs are the sweep's signals: espeak-ng speech (when available) and synthetic music
// with and without drums.
func anytimeInputs(rate int, seconds float64, quick bool) []Input {
	if quick {
		ins, _ := Inputs(rate, seconds, NoSpeech)
		return ins[:1]
	}
	var ins []Input
	if x, err := Speech(rate, seconds); err == nil {
		ins = append(ins, Input{"speech", x})
	}
	return append(ins, Input{"music", Music(rate, seconds, WithDrums)}, Input{"tonal music", Music(rate, seconds, NoDrums)})
}

type offlineCase struct {
	name string
	opt  retrieval.Options
}

var offlineCases = []offlineCase{
	{"GLA", retrieval.Options{Optimizer: retrieval.GLA}},
	{"FGLA", retrieval.Options{Optimizer: retrieval.FGLA}},
	{"Adam", retrieval.Options{Optimizer: retrieval.Adam}},
	{"L-BFGS", retrieval.Options{Optimizer: retrieval.LBFGS}},
	{"PGHI → FGLA", retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitPGHI}},
}

// Run measures the matrix. Quick runs a handful of small cases (to check that everything runs,
// never a timing); the full run takes minutes.
func Run(o Options) (*Results, error) {
	start := time.Now()
	r := &Results{Machine: DescribeMachine(), Quick: o.Quick, Seconds: 2, Iters: 200}
	setups := Setups
	if o.Quick {
		r.Seconds, r.Iters, setups = 0.5, 10, Setups[:1]
	}
	type job struct {
		setup Setup
		input Input
	}
	var jobs []job
	for _, s := range setups {
		speech := WithSpeech
		if o.Quick {
			speech = NoSpeech
		}
		ins, notes := Inputs(s.Rate, r.Seconds, speech)
		r.Notes = append(r.Notes, notes...)
		if o.Quick {
			ins = ins[:1]
		}
		for _, in := range ins {
			jobs = append(jobs, job{s, in})
		}
	}
	scases := streamCases(o.Quick)
	total := len(jobs)*(len(offlineCases)+len(scases)) + len(anytimeInputs(Setups[0].Rate, r.Seconds, o.Quick))*(len(anytimeCases(o.Quick))+1)
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(total+2, progressbar.OptionSetWriter(o.Progress), progressbar.OptionSetDescription("bench"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	step := func() {
		if bar != nil {
			bar.Add(1)
		}
	}
	// The plotted case: speech (else the tone complex) at the first setup.
	plotInput := "speech"
	if o.Quick {
		plotInput = "chirp"
	}
	found := false
	for _, j := range jobs {
		found = found || (j.input.Name == plotInput && j.setup.Name == setups[0].Name)
	}
	if !found {
		plotInput = "tones"
	}
	r.plotInput = plotInput
	for _, j := range jobs {
		cfg, err := j.setup.STFT.Resolve()
		if err != nil {
			return nil, err
		}
		for _, c := range offlineCases {
			row, err := runOffline(j.input, j.setup, cfg, c, r.Iters)
			if err != nil {
				return nil, fmt.Errorf("%s / %s / %s: %w", j.input.Name, j.setup.Name, c.name, err)
			}
			r.Rows = append(r.Rows, row)
			step()
		}
		for _, c := range scases {
			plotted := c.isDefault && j.input.Name == plotInput && j.setup.Name == setups[0].Name
			if o.Quick && c.method == "engine" && j.input.Name == plotInput {
				plotted = true
			}
			row, hops, y, err := runStreaming(j.input, j.setup, cfg, c)
			if err != nil {
				return nil, fmt.Errorf("%s / %s / %s: %w", j.input.Name, j.setup.Name, c.method, err)
			}
			if plotted {
				r.hopTimes = hops
				r.spectro = spectroData{cfg: cfg, rate: j.setup.Rate, orig: j.input.X, re: y,
					what: fmt.Sprintf("ℓ = %d, K = %d", c.cfg.Lookahead, c.cfg.ItersPerHop)}
			}
			r.Rows = append(r.Rows, row)
			step()
		}
	}
	if err := r.runAnytime(o.Quick, step); err != nil {
		return nil, err
	}
	r.Scaling = measureScaling(o.Quick)
	step()
	r.Streams = []StreamsResult{measureStreams(o.Quick, fft.Float64), measureStreams(o.Quick, fft.Float32)}
	step()
	r.Elapsed = time.Since(start).Seconds()
	return r, nil
}

func runOffline(in Input, su Setup, cfg retrieval.Config, c offlineCase, iters int) (Row, error) {
	cc := cfg
	cc.Framing, cc.Pad = retrieval.Center, retrieval.Reflect
	s, err := retrieval.NewSTFT(cc, len(in.X))
	if err != nil {
		return Row{}, err
	}
	defer s.Close()
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, in.X), retrieval.Loss{})
	if err != nil {
		return Row{}, err
	}
	opt := c.opt
	opt.MaxIter, opt.Tol = iters, 0
	t0 := time.Now()
	res, err := retrieval.Invert(p, opt)
	if err != nil {
		return Row{}, err
	}
	secs := time.Since(t0).Seconds()
	audio := float64(len(in.X)) / float64(su.Rate)
	return Row{Input: in.Name, Setup: su.Name, Mode: "offline", Method: c.name, Iterations: res.Iterations,
		SCdB: retrieval.DB(p.SpectralConvergence(res.Signal)), RelL2: retrieval.RelativeL2(in.X, res.Signal),
		Seconds: secs, MsPerIteration: 1000 * secs / float64(max(1, res.Iterations)), RTF: secs / audio}, nil
}

// runStreaming pushes the analysed frames one at a time, timing each Push and counting heap
// allocations around the loop; it returns the row, the per-hop times (ms) and the output
// aligned with the input.
func runStreaming(in Input, su Setup, cfg retrieval.Config, c streamCase) (Row, []float64, []float64, error) {
	ec := c.cfg
	ec.STFT, ec.SampleRate = cfg, su.Rate
	e, err := stream.NewEngine(ec)
	if err != nil {
		return Row{}, nil, nil, err
	}
	defer e.Close()
	an, err := stream.NewAnalyzer(cfg)
	if err != nil {
		return Row{}, nil, nil, err
	}
	defer an.Close()
	var frames [][]float64
	collect := func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil }
	if err := an.Write(in.X, collect); err != nil {
		return Row{}, nil, nil, err
	}
	if err := an.Flush(collect); err != nil {
		return Row{}, nil, nil, err
	}
	hop := e.Hop()
	out := make([]float64, len(frames)*hop+e.FlushLen())
	hops := make([]float64, len(frames))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	for i, f := range frames {
		ts := time.Now()
		if err := e.Push(out[i*hop:(i+1)*hop], f); err != nil {
			return Row{}, nil, nil, err
		}
		hops[i] = float64(time.Since(ts).Nanoseconds()) / 1e6
	}
	secs := time.Since(t0).Seconds()
	runtime.ReadMemStats(&after)
	e.Flush(out[len(frames)*hop:])
	d := e.Latency().FileDelay
	y := out[d:]
	if len(y) > len(in.X) {
		y = y[:len(in.X)]
	}
	sorted := append([]float64(nil), hops...)
	sort.Float64s(sorted)
	pct := func(p float64) float64 { return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))] }
	st := e.Stats()
	rc := e.Config()
	k := rc.ItersPerHop
	if c.deadline {
		k = 0
	}
	return Row{Input: in.Name, Setup: su.Name, Mode: "streaming", Method: c.method, Lookahead: rc.Lookahead,
		ItersPerHop: k, Deadline: c.deadline,
		SCdB: retrieval.STFTSpectralConvergenceDB(cfg, in.X, y), RelL2: retrieval.RelativeL2(in.X, y), Seconds: secs,
		RTF: secs / (float64(len(in.X)) / float64(su.Rate)), LatencyMs: 1000 * float64(e.Latency().AudioToAudio) / float64(su.Rate),
		HopP50Ms: pct(0.5), HopP99Ms: pct(0.99), HopMaxMs: sorted[len(sorted)-1],
		AllocsPerHop: float64(after.Mallocs-before.Mallocs) / float64(len(frames)), MeanItersHop: st.IterationsPerFrame(),
		Optimizer: rc.Optimizer.String(), Budget: rc.Budget, ItersP50: st.IterationsPercentile(50), ItersP99: st.IterationsPercentile(99)}, hops, y, nil
}

// runAnytime measures the anytime sweep on the first setup, and offline FGLA on the same inputs.
func (r *Results) runAnytime(quick bool, step func()) error {
	su := Setups[0]
	cfg, err := su.STFT.Resolve()
	if err != nil {
		return err
	}
	iters := AnytimeOfflineIters
	if quick {
		iters = 10
	}
	r.AnytimeOffline, r.AnytimeIters = map[string]float64{}, iters
	for _, in := range anytimeInputs(su.Rate, r.Seconds, quick) {
		row, err := runOffline(in, su, cfg, offlineCase{"FGLA", retrieval.Options{Optimizer: retrieval.FGLA}}, iters)
		if err != nil {
			return err
		}
		r.AnytimeOffline[in.Name] = row.SCdB
		step()
		for _, c := range anytimeCases(quick) {
			row, _, _, err := runStreaming(in, su, cfg, c)
			if err != nil {
				return fmt.Errorf("anytime %s / %v: %w", in.Name, c.cfg.Optimizer, err)
			}
			r.Anytime = append(r.Anytime, row)
			step()
		}
	}
	return nil
}

// noiseFrames analyses white noise for an STFT config (frames reused by the timing loops).
func noiseFrames(cfg retrieval.Config, n int) [][]float64 {
	rng := rand.New(rand.NewPCG(3, 5))
	x := make([]float64, n)
	for i := range x {
		x[i] = 0.1 * rng.NormFloat64()
	}
	an, _ := stream.NewAnalyzer(cfg)
	defer an.Close()
	var frames [][]float64
	an.Write(x, func(m []float64) error { frames = append(frames, append([]float64(nil), m...)); return nil })
	return frames
}

// perHop times Push over the frames (after one pass of warm-up) and returns p50, p99 in ms.
func perHop(cfg stream.Config, frames [][]float64, passes int) (float64, float64) {
	e, err := stream.NewEngine(cfg)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	defer e.Close()
	out := make([]float64, e.Hop())
	for _, f := range frames[:min(len(frames), 16)] {
		e.Push(out, f)
	}
	e.Reset()
	var ts []float64
	for range passes {
		for _, f := range frames {
			t0 := time.Now()
			e.Push(out, f)
			ts = append(ts, float64(time.Since(t0).Nanoseconds())/1e6)
		}
		e.Reset()
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], ts[min(len(ts)-1, len(ts)*99/100)]
}

// measureScaling: per-hop cost against n_fft (hop n_fft/4, ℓ 2, K 16), ℓ (n_fft 1024, K 16) and
// K (n_fft 1024, ℓ 2), 48 kHz noise.
func measureScaling(quick bool) []ScaleRow {
	const rate = 48000
	type pt struct{ n, l, k int }
	var pts []pt
	if quick {
		pts = []pt{{512, 1, 4}}
	} else {
		for _, n := range []int{256, 512, 1024, 2048, 4096} {
			pts = append(pts, pt{n, 2, 16})
		}
		for _, l := range []int{0, 1, 3, 4} {
			pts = append(pts, pt{1024, l, 16})
		}
		for _, k := range []int{4, 8, 32, 64} {
			pts = append(pts, pt{1024, 2, k})
		}
	}
	var rows []ScaleRow
	for _, p := range pts {
		cfg, _ := retrieval.Config{NFFT: p.n, Hop: p.n / 4}.Resolve()
		frames := noiseFrames(cfg, rate)
		if quick {
			frames = frames[:min(len(frames), 20)]
		}
		ec := stream.Config{STFT: cfg, SampleRate: rate, Lookahead: p.l, ItersPerHop: p.k}
		if p.l == 0 {
			ec.WarmStart = stream.RTPGHICausal
		}
		p50, p99 := perHop(ec, frames, 1)
		hopMs := 1000 * float64(cfg.Hop) / rate
		rows = append(rows, ScaleRow{NFFT: p.n, Hop: cfg.Hop, Lookahead: p.l, K: p.k, P50Ms: p50, P99Ms: p99, RTF: p50 / hopMs})
	}
	return rows
}

// measureStreams runs N engines in a stream.Pool (48 kHz, n_fft 1024, hop 256, ℓ 2, K 32, each
// engine its own noise input): a round pushes one frame into each, and N is sustained when at
// least 99 % of the rounds take less than the hop duration (5.33 ms). It searches N for a pool of
// one worker and for one worker per core.
func measureStreams(quick bool, prec fft.Precision) StreamsResult {
	const rate = 48000
	cfg, _ := retrieval.Config{NFFT: 1024, Hop: 256}.Resolve()
	ec := stream.Config{STFT: cfg, SampleRate: rate, Lookahead: 2, ItersPerHop: 32, Precision: prec}
	frames := noiseFrames(cfg, 2*rate)
	if quick {
		frames = frames[:20]
	}
	const warm = 8
	hopMs := 1000 * float64(cfg.Hop) / rate
	p50, p99 := perHop(ec, frames, 1)
	res := StreamsResult{Config: "48 kHz, n_fft 1024, hop 256, ℓ = 2, K = 32, FGLA", Precision: prec.String(), SinglePerHopP50Ms: p50,
		SinglePerHopP99Ms: p99, HopMs: hopMs, Estimate: int(hopMs / p50), Workers: runtime.GOMAXPROCS(0),
		Rounds: len(frames) - warm}
	// try runs n engines on a pool of w workers and returns the p50 and p99 round (ms) and the
	// deadline misses summed over the streams, after warm-up. Stream i starts i frames into the
	// input, so that the streams differ.
	try := func(n, w int) (r50, r99 float64, misses int64) {
		es := make([]*stream.Engine, n)
		for i := range es {
			es[i], _ = stream.NewEngine(ec)
			defer es[i].Close()
		}
		p := stream.NewPool(es, stream.PoolConfig{Workers: w})
		defer p.Close()
		rounds := make([]float64, 0, len(frames))
		for fi := range frames {
			if fi == warm {
				p.ResetStats()
			}
			for i := range n {
				p.Push(i, frames[(fi+i)%len(frames)])
			}
			t0 := time.Now()
			p.Round()
			if fi >= warm {
				rounds = append(rounds, float64(time.Since(t0).Nanoseconds())/1e6)
			}
		}
		for i := range n {
			misses += p.RoundStats(i).DeadlineMisses
		}
		sort.Float64s(rounds)
		return rounds[len(rounds)/2], rounds[min(len(rounds)-1, len(rounds)*99/100)], misses
	}
	// search finds the largest sustained N for w workers, starting near w·Estimate.
	search := func(w int) (n int, r50, r99 float64, misses int64) {
		if quick {
			if a, b, m := try(w, w); b < hopMs {
				return w, a, b, m
			}
			return 0, 0, 0, 0
		}
		start := max(1, w*res.Estimate-2)
		for k := start; k >= 1; k-- { // step down until one fits
			if a, b, m := try(k, w); b < hopMs {
				n, r50, r99, misses = k, a, b, m
				break
			}
		}
		if n < start {
			return n, r50, r99, misses
		}
		for k := start + 1; k <= start+8; k++ { // then up until one fails
			a, b, m := try(k, w)
			if b >= hopMs {
				break
			}
			n, r50, r99, misses = k, a, b, m
		}
		return n, r50, r99, misses
	}
	res.SustainedOneWorker, _, res.RoundP99OneWorker, _ = search(1)
	res.Sustained, res.RoundP50AtSustained, res.RoundP99AtSustained, res.MissesAtSustained = search(res.Workers)
	res.PerCore = float64(res.Sustained) / float64(res.Workers)
	return res
}
