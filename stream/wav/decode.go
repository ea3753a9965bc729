package wav

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxSampleRate is the highest sample rate rephase reads or writes, in Hz: 768 kHz, the highest
// rate of current audio interfaces and of the WAV files they record (DXD and 8× rates). The bound
// keeps a corrupt or hostile rate (0xFFFFFFFF, 5·10⁸) from reaching code that sizes buffers or
// divides by it.
const MaxSampleRate = 768000

// CheckSampleRate returns an error unless 1 ≤ hz ≤ MaxSampleRate. The same bound applies to WAV
// files (read and written), the frame-stream header and command-line rates.
func CheckSampleRate(hz int) error {
	if hz < 1 || hz > MaxSampleRate {
		return fmt.Errorf("sample rate %d Hz outside 1…%d Hz", hz, MaxSampleRate)
	}
	return nil
}

// Format is the sample format of a WAV file's data chunk, from its fmt chunk.
type Format struct {
	Tag        int // formatPCM or formatFloat (the sub-format of WAVE_FORMAT_EXTENSIBLE)
	Channels   int
	SampleRate int // Hz
	Bits       int // bits per sample of the container: 8, 16, 24, 32 (integer), 32 or 64 (float)
}

// frameSize returns the bytes per sample frame (all channels).
func (f Format) frameSize() int { return f.Channels * f.Bits / 8 }

// layout is what parse finds in a RIFF/WAVE file: the format and where the samples are.
type layout struct {
	Format
	dataOff, dataSize int // payload of the data chunk: byte offset and declared length
}

// parse walks the RIFF chunks of a whole WAV file in b and validates the fmt chunk. Every error
// names the byte offset of the field or chunk at fault. A data chunk must come after the fmt
// chunk, must lie within the file, and must be the only one (a second data chunk is refused, not
// silently ignored). Chunks after the data chunk whose declared size runs past the end of the
// file (trailing garbage) end the scan.
func parse(b []byte) (layout, error) {
	var l layout
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return l, fmt.Errorf("not a RIFF/WAVE file (offset 0)")
	}
	fmtAt, dataAt := -1, -1
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if fmtAt >= 0 {
				return l, fmt.Errorf("second fmt chunk at offset %d (the first is at %d)", off, fmtAt)
			}
			if size < 16 || int64(body)+size > int64(len(b)) {
				return l, fmt.Errorf("fmt chunk at offset %d is %d bytes, too short", off, size)
			}
			f, err := parseFmt(b[body:body+int(size)], body)
			if err != nil {
				return l, err
			}
			l.Format, fmtAt = f, off
		case "data":
			if fmtAt < 0 {
				return l, fmt.Errorf("data chunk at offset %d before any fmt chunk", off)
			}
			if dataAt >= 0 {
				return l, fmt.Errorf("second data chunk at offset %d (the first is at %d): files with several data chunks are not supported", off, dataAt)
			}
			if int64(body)+size > int64(len(b)) {
				return l, fmt.Errorf("truncated data chunk: its header at offset %d declares %d bytes, the file ends %d bytes later",
					off, size, len(b)-body)
			}
			l.dataOff, l.dataSize, dataAt = body, int(size), off
		default:
			if dataAt >= 0 && int64(body)+size > int64(len(b)) {
				return l, nil // trailing bytes after the audio
			}
		}
		off = int(min(int64(body)+size+size&1, int64(len(b)))) // chunks are padded to even length
	}
	if dataAt < 0 {
		return l, fmt.Errorf("no data chunk (file is %d bytes)", len(b))
	}
	return l, nil
}

// parseFmt decodes a fmt chunk's payload; at is its byte offset in the file.
func parseFmt(c []byte, at int) (Format, error) {
	le := binary.LittleEndian
	rate := int(min(uint64(le.Uint32(c[4:])), math.MaxInt)) // int may have 32 bits
	f := Format{Tag: int(le.Uint16(c[0:])), Channels: int(le.Uint16(c[2:])), SampleRate: rate, Bits: int(le.Uint16(c[14:]))}
	blockAlign := int(le.Uint16(c[12:]))
	if f.Tag == formatExtensible {
		if len(c) < 40 {
			return f, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE fmt chunk at offset %d is %d bytes, want 40", at-8, len(c))
		}
		// The sub-format GUID starts with the format tag. Samples narrower than the container
		// (wValidBitsPerSample < wBitsPerSample) are left-justified, so the container is read.
		f.Tag = int(le.Uint16(c[24:]))
	}
	if f.Channels < 1 {
		return f, fmt.Errorf("fmt chunk at offset %d: %d channels (byte %d)", at-8, f.Channels, at+2)
	}
	if err := CheckSampleRate(f.SampleRate); err != nil {
		return f, fmt.Errorf("fmt chunk at offset %d: %v (byte %d)", at-8, err, at+4)
	}
	switch {
	case f.Tag == formatPCM && (f.Bits == 8 || f.Bits == 16 || f.Bits == 24 || f.Bits == 32):
	case f.Tag == formatFloat && (f.Bits == 32 || f.Bits == 64):
	default:
		return f, fmt.Errorf("fmt chunk at offset %d: unsupported encoding: format tag %#x with %d bits per sample (byte %d; want integer PCM 8/16/24/32 or 32/64-bit float)",
			at-8, f.Tag, f.Bits, at+14)
	}
	if blockAlign != f.frameSize() {
		return f, fmt.Errorf("fmt chunk at offset %d: block align %d (byte %d), but %d channels of %d bits need %d",
			at-8, blockAlign, at+12, f.Channels, f.Bits, f.frameSize())
	}
	return f, nil
}

// decode converts the data chunk's samples to Audio: integer PCM scaled to [−1, 1) (8-bit is
// unsigned), float as it is. Only whole sample frames within the declared size are read: the
// RIFF pad byte after an odd-sized chunk, and a partial frame at its end, are not samples. NaN
// and ±Inf float samples are errors naming the sample, channel and byte offset.
func decode(b []byte, l layout) (*Audio, error) {
	nch, size := l.Channels, l.Bits/8
	frames := l.dataSize / l.frameSize()
	a := &Audio{SampleRate: l.SampleRate, Channels: make([][]float64, nch)}
	for c := range a.Channels {
		a.Channels[c] = make([]float64, frames)
	}
	le := binary.LittleEndian
	scale := 1 / math.Ldexp(1, l.Bits-1)
	p := l.dataOff
	for i := 0; i < frames; i++ {
		for c := 0; c < nch; c++ {
			s := b[p : p+size]
			var f float64
			switch {
			case l.Tag == formatFloat && size == 4:
				f = float64(math.Float32frombits(le.Uint32(s)))
			case l.Tag == formatFloat:
				f = math.Float64frombits(le.Uint64(s))
			case size == 1:
				f = float64(int(s[0])-128) * scale // 8-bit WAV is unsigned
			case size == 2:
				f = float64(int16(le.Uint16(s))) * scale
			case size == 3:
				f = float64(int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24)>>8) * scale
			default:
				f = float64(int32(le.Uint32(s))) * scale
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("sample %d of channel %d (byte offset %d) is %v", i, c, p, f)
			}
			a.Channels[c][i] = f
			p += size
		}
	}
	return a, nil
}
