package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBenchQuickJSON is the CI smoke run of the benchmark matrix: "rephase bench --quick --json"
// exits 0, reports rows for the offline and streaming methods with finite figures, and writes the
// report and its plots. It checks that everything runs, never a timing.
func TestBenchQuickJSON(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "bench", "--quick", "--json", "--out", dir)
	cmd.Dir = "../.." // so that benchmarks/report_static.md is found
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench --quick --json: %v", err)
	}
	var r struct {
		Report  string
		Results struct {
			Rows []struct {
				Mode, Method string
				SCdB         float64
			}
			Streams []struct {
				Precision string
				Sustained int
			}
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	modes := map[string]int{}
	for _, row := range r.Results.Rows {
		modes[row.Mode]++
		if !(row.SCdB < 0) {
			t.Errorf("%s %s: SC %v dB", row.Mode, row.Method, row.SCdB)
		}
	}
	if modes["offline"] < 5 || modes["streaming"] < 4 {
		t.Errorf("rows per mode: %v", modes)
	}
	if len(r.Results.Streams) != 2 || r.Results.Streams[0].Precision != "float64" || r.Results.Streams[1].Precision != "float32" {
		t.Errorf("streams per core: %+v, want a float64 and a float32 measurement", r.Results.Streams)
	}
	for _, f := range []string{"REPORT.md", "plots/sc_vs_latency.png", "plots/sc_vs_iterations.png", "plots/sc_vs_compute.png",
		"plots/hop_histogram.png", "plots/spectrogram_original.png", "plots/spectrogram_reconstruction.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
