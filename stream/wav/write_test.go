package wav

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWritersRefuseNonFiniteSamples: the last line of defence of issue 14 (an all-NaN WAV from
// --alpha NaN, ±Inf samples from a diverging --lr): nothing is written.
func TestWritersRefuseNonFiniteSamples(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		p := filepath.Join(dir, "out.wav")
		x := []float64{0, 0.5, v, 0}
		err := Write(p, 8000, [][]float64{{0, 0, 0, 0}, x}, Float32)
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Channel != 1 || nf.Sample != 2 || !strings.Contains(err.Error(), p) {
			t.Errorf("%v: error %v, want a NonFiniteError naming the file, channel 1, sample 2", v, err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%v: output written", v)
		}
		rp := filepath.Join(dir, "rec.wav")
		r, err := Create(rp, 8000, 2, PCM16)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Write([]float32{0, 0, 0, float32(v)}); !errors.As(err, &nf) || nf.Channel != 1 || nf.Sample != 1 {
			t.Errorf("Recorder %v: error %v, want a NonFiniteError at channel 1, frame 1", v, err)
		}
		r.Close()
		if a, err := Read(rp); err != nil || a.Len() != 0 {
			t.Errorf("Recorder %v: %v, want an empty valid WAV", v, err)
		}
	}
}

// TestWriteToDevNull: as root the old writer replaced the device node with a regular file.
func TestWriteToDevNull(t *testing.T) {
	if err := Write("/dev/null", 8000, [][]float64{{0.1, 0.2}}, Float32); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat("/dev/null")
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null: %v %v", fi.Mode(), err)
	}
	r, err := Create("/dev/null", 8000, 1, Float32)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(make([]float32, 100000)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// smallDisk mounts a 64 KiB tmpfs (root only) and returns its path; it skips the test when the
// mount fails.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestWriteOnFullDiskLeavesNothing: a WAV larger than the disk fails, naming the file, and
// leaves neither a partial output nor a temporary file; an existing output is untouched.
func TestWriteOnFullDiskLeavesNothing(t *testing.T) {
	dir := smallDisk(t)
	p := filepath.Join(dir, "out.wav")
	if err := Write(p, 8000, [][]float64{make([]float64, 100)}, PCM16); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(p)
	err := Write(p, 8000, [][]float64{make([]float64, 40000)}, Float32) // 160 kB
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v, want one naming %s", err, p)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left on the full disk: %v", ents)
	}
	if b, _ := os.ReadFile(p); string(b) != string(old) {
		t.Error("the existing output was changed")
	}
}

// TestRecorderOnFullDiskKeepsWhatItWrote: the live recorder on a full disk used to leave a WAV
// whose header said 0 samples; now the header holds the whole frames that reached the file.
func TestRecorderOnFullDiskKeepsWhatItWrote(t *testing.T) {
	dir := smallDisk(t)
	p := filepath.Join(dir, "rec.wav")
	r, err := Create(p, 8000, 2, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]float32, 2*1001) // odd-sized writes: the disk fills mid-frame at some point
	for i := range block {
		block[i] = float32(i%2) * 0.5
	}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = r.Write(block)
	}
	if werr == nil || !strings.Contains(werr.Error(), p) {
		t.Fatalf("write error %v, want one naming %s", werr, p)
	}
	if err := r.Write(block); err == nil {
		t.Error("a write after the failure was accepted")
	}
	cerr := r.Close()
	if cerr == nil {
		t.Error("Close after a failed write returned nil")
	}
	a, err := Read(p)
	if err != nil {
		t.Fatalf("recording after a full disk: %v", err)
	}
	fi, _ := os.Stat(p)
	t.Logf("full disk: %d frames kept in %d bytes; %v", a.Len(), fi.Size(), werr)
	if a.Len() < 8000 || int64(a.Len()) != r.Frames() || fi.Size() != 44+4*int64(a.Len()) {
		t.Errorf("%d frames read (Frames() %d) from %d bytes, want the ≥ 8000 frames that fit, whole", a.Len(), r.Frames(), fi.Size())
	}
	for i, v := range a.Channels[1] {
		if v != 0.5 || a.Channels[0][i] != 0 {
			t.Fatalf("frame %d: %v %v", i, a.Channels[0][i], v)
		}
	}
}

// TestWriterCountsClipped: PCM16 samples beyond full scale are counted as Clipped counts them.
func TestWriterCountsClipped(t *testing.T) {
	block := [][]float64{{0, 0.99, 1, -1, 1.5, -1.0001, 0.99998}}
	w, err := NewWriter(filepath.Join(t.TempDir(), "c.wav"), 8000, 1, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(block); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Clipped(), int64(Clipped(block)); got != want || want != 3 {
		t.Errorf("Writer.Clipped %d, Clipped %d, want 3 (1, 1.5, −1.0001)", got, want)
	}
}

// TestWritersRefuseSamplesBeyondFloat32: a finite sample that float32 cannot hold (a diverged
// optimizer's 1e50) would be written as ±Inf by a Float32 file: it is refused like Inf.
func TestWritersRefuseSamplesBeyondFloat32(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []float64{1e50, -1e39, math.MaxFloat32 * 1.0000001} {
		p := filepath.Join(dir, "out.wav")
		err := Write(p, 8000, [][]float64{{0, v}}, Float32)
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Sample != 1 {
			t.Errorf("%v: error %v, want a NonFiniteError at sample 1", v, err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%v: output written", v)
		}
	}
	if Unwritable(math.MaxFloat32) || Unwritable(-1) || !Unwritable(math.NaN()) {
		t.Error("Unwritable: wrong at MaxFloat32, -1 or NaN")
	}
}
