package framestream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rephase/rephase/retrieval"
)

func TestRoundTripWithAndWithoutHeader(t *testing.T) {
	h := Header{SampleRate: 16000, NFFT: 512, Hop: 128, WinLength: 400, Window: retrieval.Hamming}
	for _, headerless := range []bool{false, true} {
		var b bytes.Buffer
		w, err := NewWriter(&b, h, headerless)
		if err != nil {
			t.Fatal(err)
		}
		frames := [][]float64{make([]float64, h.Bins()), make([]float64, h.Bins())}
		for j, f := range frames {
			for k := range f {
				f[k] = float64(j*1000+k) / 8 // exact in float32
			}
			if err := w.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		want := 2 * 4 * h.Bins()
		if !headerless {
			want += HeaderSize
		}
		if b.Len() != want {
			t.Fatalf("headerless=%v: %d bytes, want %d", headerless, b.Len(), want)
		}
		r, err := NewReader(&b, headerless, h)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header() != h {
			t.Fatalf("header %+v, want %+v", r.Header(), h)
		}
		got := make([]float64, h.Bins())
		for j, f := range frames {
			if err := r.ReadFrame(got); err != nil {
				t.Fatal(err)
			}
			for k := range f {
				if got[k] != f[k] {
					t.Fatalf("frame %d bin %d: %v, want %v", j, k, got[k], f[k])
				}
			}
		}
		if err := r.ReadFrame(got); err != io.EOF {
			t.Fatalf("after the last frame: %v, want io.EOF", err)
		}
	}
}

func TestErrorsNameTheOffset(t *testing.T) {
	h := Header{SampleRate: 8000, NFFT: 8, Hop: 2, WinLength: 8}
	var b bytes.Buffer
	w, _ := NewWriter(&b, h, false)
	w.WriteFrame([]float64{1, 2, 3, 4, 5})
	w.WriteFrame([]float64{1, 2, math.NaN(), 4, 5})
	w.Flush()
	full := b.Bytes()
	cases := []struct {
		data []byte
		want string
	}{
		{full[:HeaderSize+20+7], "byte 59: stream ends inside frame 1 (7 of 20 bytes)"},
		{full, "byte 60: frame 1, bin 2: magnitude NaN"},
		{[]byte("RIFF0000WAVEfmt "), "magic"},
		{full[:10], "header cut short"},
		{append([]byte("RPFS\x02\x00"), full[6:]...), "version 2"},
	}
	for _, c := range cases {
		r, err := NewReader(bytes.NewReader(c.data), false, Header{})
		if err == nil {
			f := make([]float64, h.Bins())
			for err == nil {
				err = r.ReadFrame(f)
			}
		}
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want a FormatError containing %q", err, c.want)
		}
	}
	bad := append([]byte(nil), full[:HeaderSize]...)
	bad[28] = 9 // bins
	if _, err := NewReader(bytes.NewReader(bad), false, Header{}); err == nil || !strings.Contains(err.Error(), "9 bins") {
		t.Errorf("wrong bin count: %v", err)
	}
}

// rawHeader builds a version 1 header with arbitrary field values.
func rawHeader(rate, nfft, hop, win, window, bins uint32) []byte {
	b := append([]byte(Magic), 1, 0, 1, 0)
	for _, v := range []uint32{rate, nfft, hop, win, window, bins} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// TestHostileHeaders holds issue 14's frame-stream headers: each is refused with a FormatError
// naming the field's byte offset, before the reader or an engine allocates for it.
func TestHostileHeaders(t *testing.T) {
	cases := []struct {
		name string
		hdr  []byte
		want string
	}{
		{"n_fft 2^20, hop 1", rawHeader(16000, 1<<20, 1, 1<<20, 0, 1<<19+1), "byte 12: n_fft 1048576 with hop 1: 1048576 overlapping frames"},
		{"n_fft 65536, hop 255", rawHeader(16000, 65536, 255, 65536, 0, 32769), "byte 12: n_fft 65536 with hop 255"},
		{"n_fft 2^21", rawHeader(16000, 1<<21, 1<<19, 1<<21, 0, 1<<20+1), "byte 12: n_fft 2097152"},
		{"rate 0xFFFFFFFF", rawHeader(0xFFFFFFFF, 512, 128, 512, 0, 257), "byte 8: sample rate " + strconv.Itoa(min(0xFFFFFFFF, math.MaxInt)) + " Hz outside 1…768000 Hz"},
		{"rate 0", rawHeader(0, 512, 128, 512, 0, 257), "byte 8: sample rate 0 Hz"},
		{"rate 768001", rawHeader(768001, 512, 128, 512, 0, 257), "byte 8: sample rate 768001 Hz"},
		{"n_fft 0xFFFFFFFF", rawHeader(16000, 0xFFFFFFFF, 1, 1, 0, 0x80000000), "byte 12:"},
		{"window 7", rawHeader(16000, 512, 128, 512, 7, 257), "byte 24: unknown window code 7"},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := NewReader(bytes.NewReader(c.hdr), false, Header{})
		runtime.ReadMemStats(&after)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a FormatError containing %q", c.name, err, c.want)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: allocated %d bytes", c.name, grew)
		}
	}
	// The limits themselves are accepted, and headerless parameters are held to the same bounds.
	for _, h := range []Header{
		{SampleRate: 768000, NFFT: 4096, Hop: 1, WinLength: 4096},
		{SampleRate: 1, NFFT: 1 << 20, Hop: 1 << 16, WinLength: 1 << 20},
	} {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("%+v: %v", h, err)
		}
		if _, err := NewReader(bytes.NewReader(b), false, Header{}); err != nil {
			t.Errorf("%+v: %v", h, err)
		}
	}
	for _, h := range []Header{
		{SampleRate: 0, NFFT: 512, Hop: 128, WinLength: 512},
		{SampleRate: -1, NFFT: 512, Hop: 128, WinLength: 512},
		{SampleRate: 16000, NFFT: 1 << 20, Hop: 1, WinLength: 1 << 20},
	} {
		if _, err := NewReader(bytes.NewReader(nil), true, h); err == nil {
			t.Errorf("headerless %+v accepted", h)
		}
		if _, err := NewWriter(io.Discard, h, false); err == nil {
			t.Errorf("writer for %+v accepted", h)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must return frames or an error, never
// panic or loop.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, Header{SampleRate: 16000, NFFT: 16, Hop: 4, WinLength: 16}, false)
	w.WriteFrame(make([]float64, 9))
	w.Flush()
	f.Add(b.Bytes())
	f.Add([]byte("RPFS"))
	// Issue 14's cases: n_fft 2^20 with hop 1, rate 0xFFFFFFFF, a header-only stream, a NaN
	// frame, a stream cut inside a frame.
	f.Add(rawHeader(16000, 1<<20, 1, 1<<20, 0, 1<<19+1))
	f.Add(rawHeader(0xFFFFFFFF, 16, 4, 16, 0, 9))
	f.Add(b.Bytes()[:HeaderSize])
	nan := append([]byte(nil), b.Bytes()...)
	binary.LittleEndian.PutUint32(nan[HeaderSize+8:], math.Float32bits(float32(math.NaN())))
	f.Add(nan)
	f.Add(b.Bytes()[:HeaderSize+10])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), false, Header{})
		if err != nil {
			return
		}
		h := r.Header()
		if h.SampleRate < 1 || h.SampleRate > 768000 || h.NFFT*((h.NFFT+h.Hop-1)/h.Hop) > MaxWindowSamples {
			t.Fatalf("header accepted: %+v", h)
		}
		dst := make([]float64, h.Bins())
		for i := 0; i <= len(data); i++ {
			if err := r.ReadFrame(dst); err != nil {
				return
			}
		}
		t.Fatal("reader returned more frames than the input has bytes")
	})
}
