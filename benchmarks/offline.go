package benchmarks

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/rephase/rephase/retrieval"
)

// OfflineCase is one offline inversion configuration of the quality table.
type OfflineCase struct {
	Name string
	Opt  retrieval.Options // MaxIter and Tol are set per checkpoint
}

// OfflineCases are the rows of the offline quality table: every method and optimizer of
// retrieval.Invert with its defaults (FGLA is Options' zero value; the command line's default
// is auto up to 2^20 samples per channel).
var OfflineCases = []OfflineCase{
	{"GLA, zero phase", retrieval.Options{Optimizer: retrieval.GLA}},
	{"FGLA, zero phase", retrieval.Options{Optimizer: retrieval.FGLA}},
	{"FGLA, random phase", retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitRandom}},
	{"PGHI → FGLA", retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitPGHI}},
	{"L-BFGS, zero phase", retrieval.Options{Optimizer: retrieval.LBFGS}},
	{"Adam, zero phase", retrieval.Options{Optimizer: retrieval.Adam}},
	{"SGDM, zero phase", retrieval.Options{Optimizer: retrieval.SGDM}},
	{"auto: PGHI → DM → FGLA → L-BFGS", retrieval.Options{Optimizer: retrieval.Auto}},
}

// OfflineRow is one measured row: spectral convergence (dB) after each checkpoint's number of
// iterations (a separate run per checkpoint, since the padding relaxation schedules its phases by
// the budget), the relative L2 error and milliseconds per iteration of the longest run.
type OfflineRow struct {
	Input, Case    string
	SCdB           []float64
	RelL2          float64
	MsPerIteration float64
}

// magnitudeProblem is the inversion problem of |STFT(x)| for cfg (MSE loss) and the function
// that releases its STFT.
func magnitudeProblem(cfg retrieval.Config, x []float64) (*retrieval.Problem, func(), error) {
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		return nil, nil, err
	}
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return p, s.Close, nil
}

// OfflineQuality inverts |STFT(x)| (cfg) with every case for each iteration count in checkpoints,
// with the tolerance disabled so that every run spends its budget.
func OfflineQuality(input string, x []float64, cfg retrieval.Config, cases []OfflineCase, checkpoints []int) ([]OfflineRow, error) {
	p, done, err := magnitudeProblem(cfg, x)
	if err != nil {
		return nil, err
	}
	defer done()
	var rows []OfflineRow
	for _, c := range cases {
		row := OfflineRow{Input: input, Case: c.Name}
		for _, n := range checkpoints {
			opt := c.Opt
			opt.MaxIter, opt.Tol = n, -1
			t0 := time.Now()
			res, err := retrieval.Invert(p, opt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			el := time.Since(t0)
			row.SCdB = append(row.SCdB, retrieval.DB(p.SpectralConvergence(res.Signal)))
			row.RelL2 = retrieval.RelativeL2(x, res.Signal)
			row.MsPerIteration = float64(el.Microseconds()) / 1000 / float64(res.Iterations)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// WriteOfflineMarkdown writes rows as a Markdown table with one SC column per checkpoint.
func WriteOfflineMarkdown(w io.Writer, rows []OfflineRow, checkpoints []int) {
	fmt.Fprint(w, "| input | method |")
	for _, n := range checkpoints {
		fmt.Fprintf(w, " SC dB @%d |", n)
	}
	fmt.Fprint(w, " rel L2 | ms/iteration |\n|---|---|")
	for range checkpoints {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprint(w, "---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s |", r.Input, r.Case)
		for _, v := range r.SCdB {
			fmt.Fprintf(w, " %.1f |", v)
		}
		fmt.Fprintf(w, " %s | %.3f |\n", fmtRel(r.RelL2), r.MsPerIteration)
	}
}

func fmtRel(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

// EqualTimeCase is one row of the equal-wall-time table: a method whose iteration count is
// chosen so that its run takes as long as the reference's.
type EqualTimeCase struct {
	Name string
	Opt  retrieval.Options // MaxIter is set by the calibration, Tol to −1
	// ZeroStart starts from the frame-centre zero-phase signal (Problem.InitialSignal with
	// InitZero) through Opt.InitialSignal, for methods whose zero Init means something else
	// (Auto's PGHI).
	ZeroStart bool
}

// EqualTimeCases are the rows of the equal-time table after the reference (FGLA from zero
// phase): L-BFGS alone, PGHI → FGLA (what PGHI alone adds), Auto from zero phase (what the
// difference map, FGLA and L-BFGS give without PGHI), and Auto.
var EqualTimeCases = []EqualTimeCase{
	{Name: "L-BFGS, zero phase", Opt: retrieval.Options{Optimizer: retrieval.LBFGS}},
	{Name: "PGHI → FGLA", Opt: retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitPGHI}},
	{Name: "auto from zero phase: DM → FGLA → L-BFGS", Opt: retrieval.Options{Optimizer: retrieval.Auto}, ZeroStart: true},
	{Name: "auto: PGHI → DM → FGLA → L-BFGS", Opt: retrieval.Options{Optimizer: retrieval.Auto}},
}

// EqualTimeRow is one measured row: the iterations that fit in the reference's time, the median
// of three runs' wall and CPU times (ms, including the initialisation), the ratio of the CPU
// time to the reference's, the spectral convergence (dB, retrieval.STFTSpectralConvergenceDB)
// and its difference from the reference's (negative: better).
type EqualTimeRow struct {
	Input, Case   string
	Iterations    int
	WallMs, CPUMs float64
	Ratio         float64
	SCdB, DeltaDB float64
}

// OfflineEqualTime inverts |STFT(x)| (cfg) with FGLA from zero phase for refIters iterations
// (the reference) and with every case for as many iterations as fit in the reference's time.
// Times are read from clock (nil: the wall clock); on a shared machine a CPU-time clock is the
// steadier measure of the time a run takes alone. Each case is calibrated twice (its time at a
// count against the reference's, three runs of each interleaved so that a change in the
// machine's load affects both, the count rescaled by the ratio of the medians) and then timed
// over three runs, interleaved with three more of the reference. The runs are single-threaded
// and deterministic, so SC depends only on the count.
func OfflineEqualTime(input string, x []float64, cfg retrieval.Config, refIters int, cases []EqualTimeCase, clock func() time.Duration) ([]EqualTimeRow, error) {
	if clock == nil {
		t0 := time.Now()
		clock = func() time.Duration { return time.Since(t0) }
	}
	p, done, err := magnitudeProblem(cfg, x)
	if err != nil {
		return nil, err
	}
	defer done()
	zero := make([]float64, len(x))
	if err := p.InitialSignal(zero, retrieval.InitZero, 0); err != nil {
		return nil, err
	}
	type timing struct {
		wall, cpu []time.Duration
		sc        float64
	}
	// run inverts with opt for n iterations and appends its times to tm.
	run := func(tm *timing, opt retrieval.Options, n int) error {
		opt.MaxIter, opt.Tol = n, -1
		w0, c0 := time.Now(), clock()
		res, err := retrieval.Invert(p, opt)
		if err != nil {
			return err
		}
		tm.cpu = append(tm.cpu, clock()-c0)
		tm.wall = append(tm.wall, time.Since(w0))
		tm.sc = retrieval.STFTSpectralConvergenceDB(cfg, x, res.Signal)
		return nil
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	ref := retrieval.Options{Optimizer: retrieval.FGLA}
	// pair times opt at n against the reference, three runs of each, interleaved.
	pair := func(opt retrieval.Options, n int) (c, r timing, err error) {
		for range 3 {
			if err = run(&r, ref, refIters); err != nil {
				return
			}
			if err = run(&c, opt, n); err != nil {
				return
			}
		}
		return
	}
	var all timing // every reference run
	var rows []EqualTimeRow
	for _, ec := range cases {
		opt := ec.Opt
		if ec.ZeroStart {
			opt.InitialSignal = zero
		}
		n := refIters
		var c, r timing
		for i := range 3 {
			if c, r, err = pair(opt, n); err != nil {
				return nil, fmt.Errorf("%s: %w", ec.Name, err)
			}
			all.wall, all.cpu, all.sc = append(all.wall, r.wall...), append(all.cpu, r.cpu...), r.sc
			if i < 2 {
				n = max(1, int(math.Round(float64(n)*med(r.cpu).Seconds()/med(c.cpu).Seconds())))
			}
		}
		rows = append(rows, EqualTimeRow{Input: input, Case: ec.Name, Iterations: n,
			WallMs: ms(med(c.wall)), CPUMs: ms(med(c.cpu)), Ratio: med(c.cpu).Seconds() / med(r.cpu).Seconds(), SCdB: c.sc})
	}
	refRow := EqualTimeRow{Input: input, Case: "FGLA, zero phase (reference)", Iterations: refIters,
		WallMs: ms(med(all.wall)), CPUMs: ms(med(all.cpu)), Ratio: 1, SCdB: all.sc}
	for i := range rows {
		rows[i].DeltaDB = rows[i].SCdB - refRow.SCdB
	}
	return append([]EqualTimeRow{refRow}, rows...), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteEqualTimeMarkdown writes rows as a Markdown table.
func WriteEqualTimeMarkdown(w io.Writer, rows []EqualTimeRow) {
	fmt.Fprint(w, "| input | method | iterations | CPU ms | wall ms | × reference CPU time | SC dB | Δ dB |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.0f | %.2f | %.1f | %+.1f |\n", r.Input, r.Case, r.Iterations, r.CPUMs, r.WallMs, r.Ratio, r.SCdB, r.DeltaDB)
	}
}
