package benchmarks

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
)

var equalTimeReport = flag.Bool("equal-time-report", false, "regenerate results/offline_equal_time.md (speech, MATLAB's speech setting, music, a transient, impulses, the chirp at the time of 600 FGLA iterations)")

// cpuTime is the process's CPU time (user + system): the runs are single-threaded, so on a
// machine shared with other work it measures what a run takes alone better than the wall clock.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		panic(err)
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// TestOfflineEqualTimeTable runs the equal-wall-time generator on the seeds' chirp at a small
// budget (every case runs, a calibrated count and a finite SC per row; nothing is asserted about
// times), and with -equal-time-report regenerates the table of benchmarks/report_static.md:
//
//	go test -run OfflineEqualTimeTable -v ./benchmarks -args -equal-time-report
func TestOfflineEqualTimeTable(t *testing.T) {
	if !*equalTimeReport {
		rows, err := OfflineEqualTime("chirp", Chirp(), retrieval.Config{NFFT: 128, Hop: 32}, 60, EqualTimeCases, cpuTime)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(EqualTimeCases)+1 || rows[0].Ratio != 1 || rows[0].DeltaDB != 0 {
			t.Fatalf("rows %+v", rows)
		}
		for _, r := range rows {
			if r.Iterations < 1 || !(r.WallMs > 0) || r.CPUMs < 0 || math.IsNaN(r.SCdB) || math.IsInf(r.SCdB, 0) {
				t.Errorf("row %+v", r)
			}
		}
		var buf bytes.Buffer
		WriteEqualTimeMarkdown(&buf, rows)
		if strings.Count(buf.String(), "\n") != len(rows)+2 {
			t.Errorf("table has the wrong number of lines:\n%s", buf.String())
		}
		return
	}
	type in struct {
		name string
		x    []float64
		cfg  retrieval.Config
	}
	sp16, err := Speech(16000, 0)
	if err != nil {
		t.Fatal(err)
	}
	sp11, err := Speech(11025, 0)
	if err != nil {
		t.Fatal(err)
	}
	var imp []float64
	ins0, _ := Inputs(16000, 1, NoSpeech)
	for _, in := range ins0 {
		if in.Name == "impulses" {
			imp = in.X
		}
	}
	hann := retrieval.Config{NFFT: 512, Hop: 128}
	ins := []in{
		{"espeak-ng speech 16 kHz 2.09 s, Hann 512, hop 128", sp16, hann},
		{"same speech at 11.025 kHz, Hamming 256, hop 64 (MATLAB's setting)", sp11, retrieval.Config{NFFT: 256, Hop: 64, Window: retrieval.Hamming}},
		{"music (benchmarks.Music, drums) 16 kHz 3 s, Hann 512, hop 128", Music(16000, 3, WithDrums), hann},
		{"shutter transient (benchmarks.Shutter) 16 kHz 1 s, Hann 512, hop 128", Shutter(16000), hann},
		{"impulse train 10 Hz 16 kHz 1 s, Hann 512, hop 128", imp, hann},
		{"chirp (seeds), Hann 128, hop 32", Chirp(), retrieval.Config{NFFT: 128, Hop: 32}},
	}
	var rows []EqualTimeRow
	for _, c := range ins {
		r, err := OfflineEqualTime(c.name, c.x, c.cfg, 600, EqualTimeCases, cpuTime)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	var buf bytes.Buffer
	WriteEqualTimeMarkdown(&buf, rows)
	t.Log("\n" + buf.String())
	if err := os.WriteFile(filepath.Join("results", "offline_equal_time.md"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
