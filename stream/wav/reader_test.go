package wav

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAll reads r to the end in blocks of n samples.
func readAll(t testing.TB, r *Reader, n int) (*Audio, error) {
	a := &Audio{SampleRate: r.SampleRate(), Channels: make([][]float64, r.Channels())}
	dst := make([][]float64, r.Channels())
	for c := range dst {
		dst[c] = make([]float64, n)
	}
	for {
		k, err := r.Read(dst)
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			return nil, err
		}
		for c := range dst {
			a.Channels[c] = append(a.Channels[c], dst[c][:k]...)
		}
	}
}

// TestReaderMatchesRead writes files of every encoding and checks that streaming them in blocks
// of several sizes gives exactly Read's samples, and that a Writer writes Write's bytes.
func TestReaderMatchesRead(t *testing.T) {
	dir := t.TempDir()
	x := make([]float64, 5001)
	y := make([]float64, 5001)
	for i := range x {
		x[i] = 0.9 * math.Sin(0.01*float64(i)*float64(i%7+1))
		y[i] = -x[i] / 2
	}
	for _, enc := range []Encoding{Float32, PCM16} {
		path := filepath.Join(dir, "a.wav")
		if err := Write(path, 22050, [][]float64{x, y}, enc); err != nil {
			t.Fatal(err)
		}
		want, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 7, 4096, 10000} {
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != 5001 || r.Channels() != 2 || r.SampleRate() != 22050 || r.Check() != nil {
				t.Fatalf("Open: %d samples, %d channels, %d Hz", r.Len(), r.Channels(), r.SampleRate())
			}
			got, err := readAll(t, r, n)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			for c := range want.Channels {
				for i, v := range want.Channels[c] {
					if got.Channels[c][i] != v {
						t.Fatalf("enc %d, blocks of %d: channel %d sample %d: %g, Read %g", enc, n, c, i, got.Channels[c][i], v)
					}
				}
			}
		}
		// A Writer fed blocks of 1000 writes the same bytes as Write.
		wpath := filepath.Join(dir, "w.wav")
		w, err := NewWriter(wpath, 22050, 2, enc)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(x); i += 1000 {
			j := min(len(x), i+1000)
			if err := w.Write([][]float64{x[i:j], y[i:j]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(wpath)
		if !bytes.Equal(a, b) {
			t.Errorf("enc %d: the Writer's file differs from Write's (%d and %d bytes)", enc, len(b), len(a))
		}
	}
}

// TestWriterAbandonedLeavesNothing: Close before Commit removes the temporary file; a NaN is
// refused.
func TestWriterAbandonedLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(filepath.Join(dir, "out.wav"), 8000, 1, Float32)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([][]float64{{0, 0.5}}); err != nil {
		t.Fatal(err)
	}
	var nf *NonFiniteError
	if err := w.Write([][]float64{{0, math.NaN()}}); !errors.As(err, &nf) || nf.Sample != 3 {
		t.Errorf("NaN: %v", err)
	}
	w.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("abandoned writer left %v", ents)
	}
	// In place: /dev/null is written through (never replaced).
	w, err = NewWriter(os.DevNull, 8000, 1, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([][]float64{{0.1}})
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode().IsRegular() {
		t.Fatalf("/dev/null: %v, %v", fi.Mode(), err)
	}
}

// TestReaderCheckFindsNaN: a float file with a NaN in the middle opens (the header is fine), and
// Check and Read report the sample and its byte offset as Read does.
func TestReaderCheckFindsNaN(t *testing.T) {
	s := make([]float32, 3000)
	s[2500] = float32(math.NaN())
	b := extensibleFloat(s)
	_, want := Decode(b)
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err == nil || err.Error() != want.Error() || !strings.Contains(err.Error(), "sample 2500") {
		t.Errorf("Check: %v, Decode: %v", err, want)
	}
	if r.Pos() != 0 {
		t.Errorf("Check moved the position to %d", r.Pos())
	}
	if _, err := readAll(t, r, 1000); err == nil || err.Error() != want.Error() {
		t.Errorf("Read: %v, Decode: %v", err, want)
	}
}

// FuzzReader checks the streaming reader against Decode on arbitrary bytes: the same error (or
// none) and the same samples, read in blocks of a fuzzed size.
func FuzzReader(f *testing.F) {
	f.Add(extensibleFloat([]float32{0.5, -0.5}), uint16(1))
	one := chunk("data", []byte{0, 0})
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 8), chunk("data", []byte{1, 2, 3})), uint16(2))
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 24), chunk("data", []byte{1, 2, 3, 4, 5, 6, 7})), uint16(1))
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 16), one, one), uint16(3))
	f.Add(riff(fmtChunk(formatPCM, 1, 0xFFFFFFFF, 16), one), uint16(3))
	f.Add(riff(fmtChunk(formatFloat, 2, 8000, 64), chunk("data", make([]byte, 32))), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, block uint16) {
		want, werr := Decode(data)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			if err = r.Check(); err == nil {
				var got *Audio
				got, err = readAll(t, r, int(block%5000)+1)
				if err == nil && werr == nil {
					for c := range want.Channels {
						for i, v := range want.Channels[c] {
							if got.Channels[c][i] != v {
								t.Fatalf("channel %d sample %d: %g, Decode %g", c, i, got.Channels[c][i], v)
							}
						}
					}
					return
				}
			}
		}
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("Reader: %v; Decode: %v", err, werr)
		}
	})
}
