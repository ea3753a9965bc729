package framestream

import (
	"bytes"
	"errors"
	"io"
	"math"
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

// FuzzReader feeds arbitrary bytes to the reader: it must return frames or an error, never
// panic or loop.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, Header{SampleRate: 16000, NFFT: 16, Hop: 4, WinLength: 16}, false)
	w.WriteFrame(make([]float64, 9))
	w.Flush()
	f.Add(b.Bytes())
	f.Add([]byte("RPFS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), false, Header{})
		if err != nil {
			return
		}
		h := r.Header()
		if h.NFFT > 1<<20 {
			t.Skip()
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
