package benchmarks

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
)

var offlineReport = flag.Bool("offline-report", false, "regenerate results/offline_quality.md (chirp and espeak-ng speech, 100/300/600 iterations)")

// TestOfflineQualityTable runs the quality table generator on the seeds' chirp at small
// budgets (every method runs, SC improves with iterations, FGLA beats GLA), and with
// -offline-report regenerates the full table of benchmarks/REPORT.md:
//
//	go test -run OfflineQualityTable -v ./benchmarks -args -offline-report
func TestOfflineQualityTable(t *testing.T) {
	chirpCfg := retrieval.Config{NFFT: 128, Hop: 32}
	if !*offlineReport {
		rows, err := OfflineQuality("chirp", Chirp(), chirpCfg, OfflineCases, []int{20, 200})
		if err != nil {
			t.Fatal(err)
		}
		sc := map[string][]float64{}
		for _, r := range rows {
			sc[r.Case] = r.SCdB
			if r.SCdB[1] > r.SCdB[0]+0.5 || math.IsNaN(r.SCdB[1]) {
				t.Errorf("%s: SC %.1f dB after 20 iterations, %.1f dB after 200", r.Case, r.SCdB[0], r.SCdB[1])
			}
		}
		if g, f := sc["GLA, zero phase"][1], sc["FGLA, zero phase"][1]; f > g-5 {
			t.Errorf("FGLA %.1f dB is not 5 dB better than GLA %.1f dB after 200 iterations", f, g)
		}
		var buf bytes.Buffer
		WriteOfflineMarkdown(&buf, rows, []int{20, 200})
		if strings.Count(buf.String(), "\n") != len(OfflineCases)+2 {
			t.Errorf("table has the wrong number of lines:\n%s", buf.String())
		}
		return
	}
	checkpoints := []int{100, 300, 600}
	rows, err := OfflineQuality("chirp (seeds), n_fft 128 hop 32", Chirp(), chirpCfg, OfflineCases, checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []float64{1.4, 0} {
		x, err := Speech(16000, sec)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("espeak-ng speech 16 kHz %.2f s, n_fft 512 hop 128", float64(len(x))/16000)
		r, err := OfflineQuality(name, x, retrieval.Config{NFFT: 512, Hop: 128}, OfflineCases, checkpoints)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	var buf bytes.Buffer
	WriteOfflineMarkdown(&buf, rows, checkpoints)
	t.Log("\n" + buf.String())
	if err := os.WriteFile(filepath.Join("results", "offline_quality.md"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
