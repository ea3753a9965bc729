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
	h := Header{SampleRate: 16000, NFFT: 512, Hop: 128, WinLength: 400, Window: retrieval.Hamming, Center: true, Symmetric: true, Length: 5 << 32}
	for _, headerless := range []bool{false, true} {
		var b bytes.Buffer
		w, err := NewWriter(&b, h, headerMode(headerless))
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
		r, err := NewReader(&b, h, headerMode(headerless))
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
	w, _ := NewWriter(&b, h, WithHeader)
	w.WriteFrame([]float64{1, 2, 3, 4, 5})
	w.WriteFrame([]float64{1, 2, math.NaN(), 4, 5})
	w.Flush()
	full := b.Bytes()
	huge := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(huge[HeaderSize+20+8:], math.Float32bits(1e31))
	cases := []struct {
		data []byte
		want string
	}{
		{full[:HeaderSize+20+7], "byte 75: stream ends inside frame 1 (7 of 20 bytes)"},
		{full, "byte 76: frame 1, bin 2: magnitude NaN"},
		{huge, "byte 76: frame 1, bin 2: magnitude 1e+31 (want a finite value ≥ 0, at most 1e+30)"}, // 1e31 in float32; above retrieval.MaxMagnitude
		{[]byte("RIFF0000WAVEfmt "), "magic"},
		{full[:10], "header cut short"},
		{append([]byte("RPFS\x04\x00"), full[6:]...), "version 4"},
	}
	for _, c := range cases {
		r, err := NewReader(bytes.NewReader(c.data), Header{}, WithHeader)
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
	if _, err := NewReader(bytes.NewReader(bad), Header{}, WithHeader); err == nil || !strings.Contains(err.Error(), "9 bins") {
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
		_, err := NewReader(bytes.NewReader(c.hdr), Header{}, WithHeader)
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
		if _, err := NewReader(bytes.NewReader(b), Header{}, WithHeader); err != nil {
			t.Errorf("%+v: %v", h, err)
		}
	}
	for _, h := range []Header{
		{SampleRate: 0, NFFT: 512, Hop: 128, WinLength: 512},
		{SampleRate: -1, NFFT: 512, Hop: 128, WinLength: 512},
		{SampleRate: 16000, NFFT: 1 << 20, Hop: 1, WinLength: 1 << 20},
	} {
		if _, err := NewReader(bytes.NewReader(nil), h, Headerless); err == nil {
			t.Errorf("headerless %+v accepted", h)
		}
		if _, err := NewWriter(io.Discard, h, WithHeader); err == nil {
			t.Errorf("writer for %+v accepted", h)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must return frames or an error, never
// panic or loop.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, Header{SampleRate: 16000, NFFT: 16, Hop: 4, WinLength: 16}, WithHeader)
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
	var mb bytes.Buffer
	mw, _ := NewWriter(&mb, melHeader(), WithHeader)
	mw.WriteFrame([]float64{-11.5, -3, 0, 2.5, 1})
	mw.Flush()
	f.Add(mb.Bytes())
	f.Add(mb.Bytes()[:HeaderSizeMel-4])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), Header{}, WithHeader)
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

// TestReadsVersion1 reads a version 1 stream written byte by byte as the format specified it
// before version 2: a 32-byte header (Blackman, code 2) and one frame. It means Full framing, a
// periodic window and an unknown length.
func TestReadsVersion1(t *testing.T) {
	v1 := []byte{
		'R', 'P', 'F', 'S', 1, 0, 1, 0, // magic, version 1, float32
		0x80, 0x3e, 0, 0, // 16000 Hz
		8, 0, 0, 0, // n_fft 8
		2, 0, 0, 0, // hop 2
		6, 0, 0, 0, // win_length 6
		2, 0, 0, 0, // window code 2: Blackman
		5, 0, 0, 0, // bins
		0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0x80, 0x3e, 0, 0, 0x80, 0x3f, // 1 2 0 0.25 1
	}
	r, err := NewReader(bytes.NewReader(v1), Header{}, WithHeader)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{SampleRate: 16000, NFFT: 8, Hop: 2, WinLength: 6, Window: retrieval.Blackman}
	if r.Header() != want {
		t.Fatalf("header %+v, want %+v", r.Header(), want)
	}
	f := make([]float64, 5)
	if err := r.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	if f[0] != 1 || f[1] != 2 || f[2] != 0 || f[3] != 0.25 || f[4] != 1 {
		t.Fatalf("frame %v, want [1 2 0 0.25 1]", f)
	}
	if err := r.ReadFrame(f); err != io.EOF {
		t.Fatalf("after the frame: %v, want io.EOF", err)
	}
	// A version 1 header cut short names version 1's size.
	if _, err := NewReader(bytes.NewReader(v1[:20]), Header{}, WithHeader); err == nil || !strings.Contains(err.Error(), "20 of 32 bytes") {
		t.Fatalf("cut version 1 header: %v", err)
	}
}

// TestVersion2Fields pins the wire codes of version 2's fields and rejects unknown ones.
func TestVersion2Fields(t *testing.T) {
	h := Header{SampleRate: 16000, NFFT: 512, Hop: 128, WinLength: 512, Window: retrieval.Rectangular, Center: true, Symmetric: true, Length: 107556}
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize || binary.LittleEndian.Uint16(b[4:]) != 2 || binary.LittleEndian.Uint32(b[24:]) != WindowCodeRectangular ||
		binary.LittleEndian.Uint16(b[32:]) != FramingCodeCenter || binary.LittleEndian.Uint16(b[34:]) != 1 || binary.LittleEndian.Uint64(b[40:]) != 107556 {
		t.Fatalf("header bytes % x", b)
	}
	if got := h.Advance(); got != 128 {
		t.Fatalf("Advance %d, want 128 (Padding 384 − n_fft/2 256)", got)
	}
	for _, c := range []struct {
		off  int
		v    byte
		want string
	}{
		{32, 2, "byte 32: unknown framing code 2"},
		{34, 2, "byte 34: unknown flags"},
		{36, 1, "byte 36: reserved"},
		{47, 0x80, "byte 40: signal length"},
	} {
		bad := append([]byte(nil), b...)
		bad[c.off] = c.v
		var got Header
		if err := got.UnmarshalBinary(bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("byte %d = %d: %v, want %q", c.off, c.v, err, c.want)
		}
	}
}

// melHeader is a HiFi-GAN-style log-mel stream header with 5 bands (small, for tests).
func melHeader() Header {
	return Header{SampleRate: 22050, NFFT: 64, Hop: 16, WinLength: 64, Length: 999,
		Mel:     &retrieval.MelConfig{NMels: 5, FMin: 20, FMax: 8000, Scale: retrieval.MelHTK, Norm: retrieval.MelNormNone},
		MelLoss: retrieval.MelLoss{Power: 2, Log: retrieval.LogDB, Floor: 1e-9, Ref: 2}}
}

// TestMelStream round-trips a version 3 (mel) stream: the header's filterbank and compression
// come back, log-mel frames may hold negative values, a NaN names the mel band and its offset,
// and unknown codes, a bins field other than n_mels, a top_db and a filterbank of another n_fft
// are refused naming the byte offset or the field.
func TestMelStream(t *testing.T) {
	h := melHeader()
	var b bytes.Buffer
	w, err := NewWriter(&b, h, WithHeader)
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]float64{{-11.5, -3, 0, 2.5, 1}, {1, 2, math.NaN(), 4, 5}}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	data := b.Bytes()
	if binary.LittleEndian.Uint16(data[4:]) != VersionMel || binary.LittleEndian.Uint32(data[28:]) != 5 || len(data) != HeaderSizeMel+2*20 {
		t.Fatalf("header: version %d, bins field %d, %d bytes", binary.LittleEndian.Uint16(data[4:]), binary.LittleEndian.Uint32(data[28:]), len(data))
	}
	r, err := NewReader(bytes.NewReader(data), Header{}, WithHeader)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Header()
	want := *h.Mel
	want.SampleRate, want.NFFT = 22050, 64
	if got.Mel == nil || *got.Mel != want || got.MelLoss != h.MelLoss || got.Length != 999 || got.Bins() != 5 {
		t.Fatalf("read header %+v (mel %+v), want mel %+v loss %+v", got, got.Mel, want, h.MelLoss)
	}
	f := make([]float64, 5)
	if err := r.ReadFrame(f); err != nil || f[0] != -11.5 {
		t.Fatalf("first frame %v: %v", f, err)
	}
	var fe *FormatError
	if err := r.ReadFrame(f); !errors.As(err, &fe) || fe.Offset != HeaderSizeMel+20+8 || !strings.Contains(err.Error(), "frame 1, mel band 2") {
		t.Fatalf("NaN in band 2 of frame 1: %v", err)
	}
	// A value whose linear magnitude exceeds retrieval.MaxMagnitude: power dB with ref 2 allows
	// 10·log10(MaxMagnitude²/2) ≈ 597 dB.
	maxV, err := h.MelLoss.MaxValue()
	if want := 600 - 10*math.Log10(2); err != nil || math.Abs(maxV-want) > 1e-3 || !h.ValidValue(596) || h.ValidValue(598) ||
		!h.ValidValue(maxV) || !h.ValidValue(float64(float32(want))) {
		t.Fatalf("MaxValue %v (%v), want %v; ValidValue 596 %v, 598 %v", maxV, err, want, h.ValidValue(596), h.ValidValue(598))
	}
	hot := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(hot[HeaderSizeMel+4:], math.Float32bits(800))
	r, _ = NewReader(bytes.NewReader(hot), Header{}, WithHeader)
	if err := r.ReadFrame(f); !errors.As(err, &fe) || fe.Offset != HeaderSizeMel+4 || !strings.Contains(err.Error(), "frame 0, mel band 1: value 800") {
		t.Fatalf("ln 800 in band 1 of frame 0: %v", err)
	}
	for _, c := range []struct {
		off  int
		v    byte
		want string
	}{
		{52, 7, "byte 52: unknown mel scale"},
		{54, 7, "byte 54: unknown mel norm"},
		{72, 3, "byte 72: mel power 3"},
		{74, 9, "byte 74: unknown log compression"},
		{76, 1, "byte 76: reserved"},
		{28, 6, "byte 28: 6 values per frame, but n_mels is 5"},
		{48, 200, "byte 48: n_mels 200"},
	} {
		bad := append([]byte(nil), data[:HeaderSizeMel]...)
		bad[c.off] = c.v
		var hh Header
		if err := hh.UnmarshalBinary(bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("byte %d = %d: %v, want %q", c.off, c.v, err, c.want)
		}
	}
	bad := append([]byte(nil), data[:HeaderSizeMel]...)
	binary.LittleEndian.PutUint64(bad[64:], math.Float64bits(-1)) // f_max below f_min
	var hh Header
	if err := hh.UnmarshalBinary(bad); err == nil || !strings.Contains(err.Error(), "byte 48") {
		t.Errorf("f_max −1 Hz: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(data[:HeaderSizeMel-1]), Header{}, WithHeader); err == nil || !strings.Contains(err.Error(), "95 of 96 bytes") {
		t.Errorf("cut mel header: %v", err)
	}
	for _, bh := range []Header{
		func() Header { h := melHeader(); h.MelLoss.TopDB = 80; return h }(),
		func() Header { h := melHeader(); m := *h.Mel; m.NFFT = 128; h.Mel = &m; return h }(),
		func() Header { h := melHeader(); m := *h.Mel; m.NMels = 0; h.Mel = &m; return h }(),
	} {
		if _, err := bh.MarshalBinary(); err == nil {
			t.Errorf("header with mel %+v, loss %+v was written", *bh.Mel, bh.MelLoss)
		}
	}
	// A linear magnitude stream still refuses negative values.
	if (Header{SampleRate: 8000, NFFT: 8, Hop: 2, WinLength: 8}).ValidValue(-1) || !h.ValidValue(-1) {
		t.Error("ValidValue: a linear stream must refuse −1, a log-mel stream accept it")
	}
}

// headerMode maps a test table's bool to a HeaderMode.
func headerMode(headerless bool) HeaderMode {
	if headerless {
		return Headerless
	}
	return WithHeader
}
