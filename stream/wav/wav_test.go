package wav

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ch := [][]float64{make([]float64, 1000), make([]float64, 1000)}
	for i := range ch[0] {
		ch[0][i] = 0.9 * math.Sin(float64(i)*0.01)
		ch[1][i] = -0.5 * math.Cos(float64(i)*0.03)
	}
	for _, enc := range []Encoding{Float32, PCM16} {
		path := filepath.Join(dir, "x.wav")
		if err := Write(path, 16000, ch, enc); err != nil {
			t.Fatal(err)
		}
		a, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		tol := 1e-7
		if enc == PCM16 {
			tol = 1.0 / 32768
		}
		if a.SampleRate != 16000 || len(a.Channels) != 2 || a.Len() != 1000 {
			t.Fatalf("enc %d: %d Hz, %d channels, %d samples", enc, a.SampleRate, len(a.Channels), a.Len())
		}
		for c := range ch {
			for i := range ch[c] {
				if math.Abs(a.Channels[c][i]-ch[c][i]) > tol {
					t.Fatalf("enc %d ch %d sample %d: %g want %g", enc, c, i, a.Channels[c][i], ch[c][i])
				}
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// extensibleFloat builds a WAVE_FORMAT_EXTENSIBLE file with the IEEE float sub-format by hand.
func extensibleFloat(samples []float32) []byte {
	var b []byte
	le := binary.LittleEndian
	b = append(b, "RIFF\x00\x00\x00\x00WAVE"...)
	b = append(b, "fmt "...)
	b = le.AppendUint32(b, 40)
	b = le.AppendUint16(b, 0xFFFE)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, 8000)
	b = le.AppendUint32(b, 8000*4)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint16(b, 32)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, 32)
	b = le.AppendUint32(b, 4)
	b = le.AppendUint16(b, 3) // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
	b = append(b, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"...)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(4*len(samples)))
	for _, s := range samples {
		b = le.AppendUint32(b, math.Float32bits(s))
	}
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestExtensibleFloat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ext.wav")
	os.WriteFile(path, extensibleFloat([]float32{0.25, -0.5, 0.75}), 0o644)
	a, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 3 || a.Channels[0][0] != 0.25 || a.Channels[0][1] != -0.5 || a.Channels[0][2] != 0.75 {
		t.Fatalf("got %v", a.Channels)
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := extensibleFloat([]float32{0.1, 0.2, 0.3, 0.4})
	nan := extensibleFloat([]float32{0.1, float32(math.NaN())})
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"text":      {[]byte("hello, this is not audio"), "not a RIFF/WAVE"},
		"truncated": {good[:len(good)-6], "truncated data chunk"},
		"nan":       {nan, "NaN"},
		"empty":     {nil, "not a RIFF/WAVE"},
	} {
		path := filepath.Join(dir, name+".wav")
		os.WriteFile(path, c.data, 0o644)
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and %q", name, err, c.want)
		}
	}
}

// FuzzRead feeds arbitrary bytes to the WAV parser: it must return audio or an error, never
// panic, and never more samples than the file has bytes or a rate outside 1…MaxSampleRate.
func FuzzRead(f *testing.F) {
	f.Add(extensibleFloat([]float32{0.5, -0.5}))
	f.Add([]byte("RIFF\x04\x00\x00\x00WAVE"))
	// Issue 14's cases: rates 0xFFFFFFFF, 5e8 and 0, odd-sized 8- and 24-bit data chunks with
	// their pad byte, a second data chunk, 0 channels, 12-bit and 64-bit float samples.
	one := chunk("data", []byte{0, 0})
	for _, rate := range []uint32{0xFFFFFFFF, 500000000, 0} {
		f.Add(riff(fmtChunk(formatPCM, 1, rate, 16), one))
	}
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 8), chunk("data", []byte{1, 2, 3})))
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 24), chunk("data", []byte{1, 2, 3})))
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 16), one, one))
	f.Add(riff(fmtChunk(formatPCM, 0, 8000, 16), one))
	f.Add(riff(fmtChunk(formatPCM, 1, 8000, 12), one))
	f.Add(riff(fmtChunk(formatFloat, 2, 8000, 64), chunk("data", make([]byte, 32))))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(data) // what Read does after reading the file
		if err != nil {
			return
		}
		if len(a.Channels) == 0 || a.SampleRate < 1 || a.SampleRate > MaxSampleRate {
			t.Fatalf("no error, %d channels at %d Hz", len(a.Channels), a.SampleRate)
		}
		if a.Len()*len(a.Channels) > len(data) {
			t.Fatalf("%d samples from %d bytes", a.Len()*len(a.Channels), len(data))
		}
	})
}
