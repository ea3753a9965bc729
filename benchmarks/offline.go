package benchmarks

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/rephase/rephase/retrieval"
)

// OfflineCase is one offline inversion configuration of the quality table.
type OfflineCase struct {
	Name string
	Opt  retrieval.Options // MaxIter and Tol are set per checkpoint
}

// OfflineCases are the rows of the offline quality table: every method and optimizer of
// retrieval.Invert with its defaults.
var OfflineCases = []OfflineCase{
	{"GLA, zero phase", retrieval.Options{Optimizer: retrieval.GLA}},
	{"FGLA, zero phase (default)", retrieval.Options{Optimizer: retrieval.FGLA}},
	{"FGLA, random phase", retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitRandom}},
	{"PGHI → FGLA", retrieval.Options{Optimizer: retrieval.FGLA, Init: retrieval.InitPGHI}},
	{"GD L-BFGS, zero phase", retrieval.Options{Optimizer: retrieval.LBFGS}},
	{"GD Adam, zero phase", retrieval.Options{Optimizer: retrieval.Adam}},
	{"GD SGDM, zero phase", retrieval.Options{Optimizer: retrieval.SGDM}},
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

// OfflineQuality inverts |STFT(x)| (cfg) with every case for each iteration count in checkpoints,
// with the tolerance disabled so that every run spends its budget.
func OfflineQuality(input string, x []float64, cfg retrieval.Config, cases []OfflineCase, checkpoints []int) ([]OfflineRow, error) {
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		return nil, err
	}
	var rows []OfflineRow
	for _, c := range cases {
		row := OfflineRow{Input: input, Case: c.Name}
		for _, n := range checkpoints {
			opt := c.Opt
			opt.MaxIter, opt.Tol = n, 0
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
