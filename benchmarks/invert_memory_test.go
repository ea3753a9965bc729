package benchmarks

import (
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// invertPeakBytesPerSample is issue 14 item 13's bound on `rephase invert`'s peak RSS per input
// sample (the slope against input length; the constant is the program, the FFT plan and the
// O(n_fft) tables).
const invertPeakBytesPerSample = 48

// TestInvertMemory is issue 14 item 13 for `rephase invert IN.wav --out OUT.wav` at the default
// settings (n_fft 512, hop 128, 100 iterations, padding relaxation; over 2^20 samples the default method is FGLA) on 48 kHz mono 16-bit
// WAVs: the slope of peak RSS (GNU time's maximum resident set size) against input length, fitted
// by least squares, stays within invertPeakBytesPerSample. By default it measures 25 s and 40 s
// (about 15 s of compute); with REPHASE_INVERT_MEMORY=1 it measures 0.5, 1, 2 and 4 minutes, prints
// the table of benchmarks/REPORT.md ("Memory against input length") and writes
// benchmarks/plots/invert_memory.png:
//
//	REPHASE_INVERT_MEMORY=1 go test ./benchmarks -run InvertMemory -v -timeout 20m
func TestInvertMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and inverts up to 40 s of 48 kHz audio")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("needs GNU time (/usr/bin/time) to measure a child's peak RSS")
	}
	full := os.Getenv("REPHASE_INVERT_MEMORY") == "1"
	secs := []float64{25, 40} // over 2^20 samples: the default method for long inputs, FGLA
	if full {
		secs = []float64{30, 60, 120, 240}
	}
	const rate = 48000
	dir := t.TempDir()
	bin := filepath.Join(dir, "rephase")
	if b, err := exec.Command("go", "build", "-o", bin, "../cmd/rephase").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	var pts plotter.XYs // samples, bytes
	for _, s := range secs {
		in, out, rss := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "rss")
		n := int64(s * rate)
		if err := writeSoakInput(in, rate, n); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", rss, bin, "invert", in, "--out", out)
		cmd.Env = append(os.Environ(), "REPHASE_FFT_PLANNING=estimate")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("invert %v s: %v\n%s", s, err, b)
		}
		b, err := os.ReadFile(rss)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatalf("GNU time's report %q: %v", b, err)
		}
		pts = append(pts, plotter.XY{X: float64(n), Y: float64(kb) * 1024})
	}
	slope, icpt := fitLine(pts)
	t.Logf("peak RSS of rephase invert (48 kHz mono, defaults): %.1f bytes per input sample + %.1f MB", slope, icpt/1e6)
	if full {
		fmt.Println("| input | samples | peak RSS | per sample |\n|---|---|---|---|")
		for _, p := range pts {
			fmt.Printf("| %g min | %.2f M | %.0f MB | %.1f B |\n", p.X/rate/60, p.X/1e6, p.Y/1e6, p.Y/p.X)
		}
		fmt.Printf("slope %.1f B per sample, intercept %.1f MB\n", slope, icpt/1e6)
		if err := plotInvertMemory(filepath.Join("plots", "invert_memory.png"), pts, slope, icpt, rate); err != nil {
			t.Fatal(err)
		}
	}
	if slope > invertPeakBytesPerSample {
		t.Errorf("rephase invert's peak RSS grows by %.1f bytes per input sample, more than %d", slope, invertPeakBytesPerSample)
	}
}

// fitLine returns the least-squares slope and intercept of y against x.
func fitLine(pts plotter.XYs) (slope, icpt float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(pts))
	for _, p := range pts {
		sx += p.X
		sy += p.Y
		sxx += p.X * p.X
		sxy += p.X * p.Y
	}
	slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return slope, (sy - slope*sx) / n
}

// plotInvertMemory draws peak RSS (MB) against input length (minutes at rate) with the fitted
// line and the issue's budget (the fitted intercept plus invertPeakBytesPerSample per sample).
func plotInvertMemory(path string, pts plotter.XYs, slope, icpt float64, rate int) error {
	p := plot.New()
	p.Title.Text = "rephase invert: peak RSS against input length (48 kHz mono, defaults)"
	p.X.Label.Text = "input length (minutes)"
	p.Y.Label.Text = "peak RSS (MB)"
	p.Add(plotter.NewGrid())
	var meas plotter.XYs
	last := 0.0
	for _, q := range pts {
		meas = append(meas, plotter.XY{X: q.X / float64(rate) / 60, Y: q.Y / 1e6})
		last = q.X
	}
	line := func(perSample float64) plotter.XYs {
		return plotter.XYs{{X: 0, Y: icpt / 1e6}, {X: last / float64(rate) / 60, Y: (icpt + perSample*last) / 1e6}}
	}
	fit, err := plotter.NewLine(line(slope))
	if err != nil {
		return err
	}
	budget, err := plotter.NewLine(line(invertPeakBytesPerSample))
	if err != nil {
		return err
	}
	budget.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	budget.Color = color.RGBA{R: 200, A: 255}
	sc, err := plotter.NewScatter(meas)
	if err != nil {
		return err
	}
	sc.Radius = vg.Points(4)
	p.Add(fit, budget, sc)
	p.Legend.Add("measured", sc)
	p.Legend.Add(fmt.Sprintf("fit: %.1f B/sample + %.0f MB", slope, icpt/1e6), fit)
	p.Legend.Add(fmt.Sprintf("budget: %d B/sample", invertPeakBytesPerSample), budget)
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
