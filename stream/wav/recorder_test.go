package wav

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestRecorderRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, enc := range []Encoding{Float32, PCM16} {
		path := filepath.Join(dir, "rec.wav")
		r, err := Create(path, 48000, 2, enc)
		if err != nil {
			t.Fatal(err)
		}
		var want []float32
		for chunk := 0; chunk < 7; chunk++ {
			s := make([]float32, 2*300)
			for i := range s {
				s[i] = float32(math.Sin(float64(len(want)+i) / 7))
			}
			want = append(want, s...)
			if err := r.Write(s); err != nil {
				t.Fatal(err)
			}
		}
		// Before Close, a Sync leaves a readable file with everything written so far.
		if err := r.Sync(); err != nil {
			t.Fatal(err)
		}
		a, err := Read(path)
		if err != nil {
			t.Fatalf("after Sync: %v", err)
		}
		if a.Len() != len(want)/2 || len(a.Channels) != 2 || a.SampleRate != 48000 {
			t.Fatalf("after Sync: %d channels × %d at %d Hz", len(a.Channels), a.Len(), a.SampleRate)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		a, err = Read(path)
		if err != nil {
			t.Fatal(err)
		}
		tol := 1e-7
		if enc == PCM16 {
			tol = 1.0 / 32768
		}
		for i := range want {
			if d := math.Abs(a.Channels[i%2][i/2] - float64(want[i])); d > tol {
				t.Fatalf("%v: sample %d: %v, want %v", enc, i, a.Channels[i%2][i/2], want[i])
			}
		}
		if err := r.Write(want[:2]); err == nil {
			t.Error("write after close accepted")
		}
		os.Remove(path)
	}
}
