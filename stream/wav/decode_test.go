package wav

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// chunk returns a RIFF chunk: id, little-endian size, payload, and the pad byte of an odd size.
func chunk(id string, payload []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0) // RIFF pad byte: 0, which as unsigned 8-bit PCM would read as −1
	}
	return b
}

// fmtChunk returns a plain (16-byte) fmt chunk with a consistent block align and byte rate.
func fmtChunk(tag, channels int, rate uint32, bits int) []byte {
	le := binary.LittleEndian
	p := le.AppendUint16(nil, uint16(tag))
	p = le.AppendUint16(p, uint16(channels))
	p = le.AppendUint32(p, rate)
	p = le.AppendUint32(p, rate*uint32(channels*bits/8))
	p = le.AppendUint16(p, uint16(channels*bits/8))
	p = le.AppendUint16(p, uint16(bits))
	return chunk("fmt ", p)
}

// riff wraps chunks in a RIFF/WAVE header.
func riff(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func readBytes(t *testing.T, b []byte) (*Audio, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Read(path)
	return a, path, err
}

// TestOddDataChunkPadByte is issue 14's click: an odd-sized data chunk is followed by a RIFF pad
// byte that is not a sample.
func TestOddDataChunkPadByte(t *testing.T) {
	// 8-bit mono, 15 999 samples of silence (128).
	data := make([]byte, 15999)
	for i := range data {
		data[i] = 128
	}
	a, _, err := readBytes(t, riff(fmtChunk(formatPCM, 1, 8000, 8), chunk("data", data)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 15999 || a.Channels[0][15998] != 0 {
		t.Fatalf("8-bit: %d samples, last %v; want 15999, 0", a.Len(), a.Channels[0][a.Len()-1])
	}
	// 24-bit mono, 3 samples: 0.5, −0.25, the smallest negative value.
	data = []byte{0, 0, 0x40, 0, 0, 0xE0, 0, 0, 0x80}
	a, _, err = readBytes(t, riff(fmtChunk(formatPCM, 1, 8000, 24), chunk("data", data)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0.5, -0.25, -1}; a.Len() != 3 || a.Channels[0][0] != want[0] || a.Channels[0][1] != want[1] || a.Channels[0][2] != want[2] {
		t.Fatalf("24-bit: %v, want %v", a.Channels[0], want)
	}
}

func TestIntegerAndFloatEncodings(t *testing.T) {
	le := binary.LittleEndian
	var i16, i32, f64 []byte
	for _, v := range []float64{0.5, -0.5, 0.25, -1} { // stereo: (0.5, −0.5), (0.25, −1)
		i16 = le.AppendUint16(i16, uint16(int16(v*32768)))
		i32 = le.AppendUint32(i32, uint32(int32(v*(1<<31))))
		f64 = le.AppendUint64(f64, math.Float64bits(v))
	}
	u8 := []byte{192, 64, 160, 0}
	for name, b := range map[string][]byte{
		"u8":  riff(fmtChunk(formatPCM, 2, 44100, 8), chunk("data", u8)),
		"i16": riff(fmtChunk(formatPCM, 2, 44100, 16), chunk("LIST", []byte("xyz")), chunk("data", i16), chunk("id3 ", []byte("tag"))),
		"i32": riff(fmtChunk(formatPCM, 2, 44100, 32), chunk("data", i32)),
		"f64": riff(fmtChunk(formatFloat, 2, 44100, 64), chunk("data", f64)), // scipy's default for float64
		// A partial frame at the end of the data chunk is dropped; trailing garbage is ignored.
		"i16 partial frame": riff(fmtChunk(formatPCM, 2, 44100, 16), chunk("data", append(i16, 1, 2)), []byte("junk\xff\xff\xff\x7f")),
	} {
		a, _, err := readBytes(t, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.SampleRate != 44100 || len(a.Channels) != 2 || a.Len() != 2 ||
			a.Channels[0][0] != 0.5 || a.Channels[1][0] != -0.5 || a.Channels[0][1] != 0.25 || a.Channels[1][1] != -1 {
			t.Fatalf("%s: %d Hz, %v", name, a.SampleRate, a.Channels)
		}
	}
}

// TestHostileHeaders holds issue 14's WAV cases: each is an error naming the file and the byte
// offset of the field at fault.
func TestHostileHeaders(t *testing.T) {
	one := chunk("data", []byte{0, 0})
	ext := extensibleFloat([]float32{0.5})
	badAlign := fmtChunk(formatPCM, 2, 8000, 16)
	binary.LittleEndian.PutUint16(badAlign[8+12:], 3)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"rate 0xFFFFFFFF", riff(fmtChunk(formatPCM, 1, 0xFFFFFFFF, 16), one), "fmt chunk at offset 12: sample rate " + strconv.Itoa(min(0xFFFFFFFF, math.MaxInt)) + " Hz outside 1…768000 Hz (byte 24)"},
		{"rate 5e8", riff(fmtChunk(formatPCM, 1, 500000000, 16), one), "sample rate 500000000 Hz"},
		{"rate 0", riff(fmtChunk(formatPCM, 1, 0, 16), one), "sample rate 0 Hz"},
		{"rate 768001", riff(fmtChunk(formatPCM, 1, 768001, 16), one), "sample rate 768001 Hz"},
		{"0 channels", riff(fmtChunk(formatPCM, 0, 8000, 16), one), "fmt chunk at offset 12: 0 channels (byte 22)"},
		{"12-bit", riff(fmtChunk(formatPCM, 1, 8000, 12), one), "unsupported encoding: format tag 0x1 with 12 bits per sample (byte 34"},
		{"16-bit float", riff(fmtChunk(formatFloat, 1, 8000, 16), one), "format tag 0x3 with 16 bits"},
		{"mu-law", riff(fmtChunk(7, 1, 8000, 8), one), "format tag 0x7"},
		{"block align", riff(badAlign, one), "block align 3 (byte 32), but 2 channels of 16 bits need 4"},
		{"second data chunk", riff(fmtChunk(formatPCM, 1, 8000, 16), one, one), "second data chunk at offset 46 (the first is at 36)"},
		{"second fmt chunk", riff(fmtChunk(formatPCM, 1, 8000, 16), fmtChunk(formatPCM, 1, 8000, 16), one), "second fmt chunk at offset 36"},
		{"data before fmt", riff(one, fmtChunk(formatPCM, 1, 8000, 16)), "data chunk at offset 12 before any fmt chunk"},
		{"no data", riff(fmtChunk(formatPCM, 1, 8000, 16)), "no data chunk"},
		{"short fmt", riff(chunk("fmt ", make([]byte, 14)), one), "fmt chunk at offset 12 is 14 bytes"},
		{"short extensible", riff(chunk("fmt ", append(fmtChunk(formatExtensible, 1, 8000, 32)[8:], 0, 0)), one), "WAVE_FORMAT_EXTENSIBLE fmt chunk at offset 12 is 18 bytes"},
		{"truncated", ext[:len(ext)-2], "truncated data chunk: its header at offset 60 declares 4 bytes, the file ends 2 bytes later"},
		{"inf", extensibleFloat([]float32{0.5, float32(math.Inf(-1))}), "sample 1 of channel 0 (byte offset 72) is -Inf"},
	}
	for _, c := range cases {
		_, path, err := readBytes(t, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: error %v, want one naming the file and %q", c.name, err, c.want)
		}
	}
	// The bounds themselves are accepted.
	for _, rate := range []int{1, MaxSampleRate} {
		if a, _, err := readBytes(t, riff(fmtChunk(formatPCM, 1, uint32(rate), 16), one)); err != nil || a.SampleRate != rate {
			t.Errorf("rate %d: %v", rate, err)
		}
	}
}

func TestWritersBoundTheSampleRate(t *testing.T) {
	dir := t.TempDir()
	for _, rate := range []int{0, -1, MaxSampleRate + 1, int(min(0xFFFFFFFF, math.MaxInt))} {
		path := filepath.Join(dir, "w.wav")
		if err := Write(path, rate, [][]float64{{0.1, 0.2}}, Float32); err == nil || !strings.Contains(err.Error(), "sample rate") {
			t.Errorf("Write at %d Hz: %v, want a sample-rate error", rate, err)
		}
		if r, err := Create(path, rate, 1, Float32); err == nil {
			r.Close()
			t.Errorf("Create at %d Hz succeeded", rate)
		}
		os.Remove(path)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
	path := filepath.Join(dir, "ok.wav")
	if err := Write(path, MaxSampleRate, [][]float64{{0.25}}, PCM16); err != nil {
		t.Fatal(err)
	}
	if a, err := Read(path); err != nil || a.SampleRate != MaxSampleRate || a.Channels[0][0] != 0.25 {
		t.Fatalf("%v %v", a, err)
	}
}
