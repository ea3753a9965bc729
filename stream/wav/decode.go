package wav

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
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
	dataOff, dataSize int64 // payload of the data chunk: byte offset and declared length
}

// parse walks the RIFF chunks of a whole WAV file in b and validates the fmt chunk. Every error
// names the byte offset of the field or chunk at fault. A data chunk must come after the fmt
// chunk, must lie within the file, and must be the only one (a second data chunk is refused, not
// silently ignored). Chunks after the data chunk whose declared size runs past the end of the
// file (trailing garbage) end the scan.
func parse(b []byte) (layout, error) { return parseAt(bytes.NewReader(b), int64(len(b)), false) }

// unknownLength is the smallest data chunk size taken as "length unknown, read to the end of the
// stream" in any file: 0xFFFFFFFF (ffmpeg's, and rephase's since issue 17) and 0xFFFFFFDB
// (rephase's before) are both above it, and no data chunk that large fits in a RIFF file.
const unknownLength = maxDataBytes

// parseAt is parse for a file read through r (n bytes long): it reads one chunk header at a time
// and never the data chunk's payload, so that Open can stream a file of any length. A data chunk
// declaring unknownLength bytes or more runs to the end of the file; so does, when piped is set
// (the file is what arrived through a pipe), any data chunk declaring more bytes than arrived:
// sox writes a 2 GiB placeholder to a pipe.
func parseAt(r io.ReaderAt, n int64, piped bool) (layout, error) {
	var l layout
	var hdr [12]byte
	if n < 12 || readAt(r, hdr[:], 0) != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return l, fmt.Errorf("not a RIFF/WAVE file (offset 0)")
	}
	fmtAt, dataAt := int64(-1), int64(-1)
	off := int64(12)
	for off+8 <= n {
		if err := readAt(r, hdr[:8], off); err != nil {
			return l, fmt.Errorf("chunk header at offset %d: %v", off, err)
		}
		id := string(hdr[0:4])
		size := int64(binary.LittleEndian.Uint32(hdr[4:8]))
		body := off + 8
		switch id {
		case "fmt ":
			if fmtAt >= 0 {
				return l, fmt.Errorf("second fmt chunk at offset %d (the first is at %d)", off, fmtAt)
			}
			if size < 16 || body+size > n {
				return l, fmt.Errorf("fmt chunk at offset %d is %d bytes, too short", off, size)
			}
			c := make([]byte, min(size, 64)) // parseFmt reads at most 40 bytes
			if err := readAt(r, c, body); err != nil {
				return l, fmt.Errorf("fmt chunk at offset %d: %v", off, err)
			}
			f, err := parseFmt(c, int(body))
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
			if body+size > n && (piped || size >= unknownLength) {
				l.dataOff, l.dataSize = body, n-body
				return l, nil // the samples run to the end of the stream
			}
			if body+size > n {
				return l, fmt.Errorf("truncated data chunk: its header at offset %d declares %d bytes, the file ends %d bytes later",
					off, size, n-body)
			}
			l.dataOff, l.dataSize, dataAt = body, size, off
		default:
			if dataAt >= 0 && body+size > n {
				return l, nil // trailing bytes after the audio
			}
		}
		off = min(body+size+size&1, n) // chunks are padded to even length
	}
	if dataAt < 0 {
		return l, fmt.Errorf("no data chunk (file is %d bytes)", n)
	}
	return l, nil
}

// readAt fills b from r at off (io.ReaderAt may return io.EOF with a full read).
func readAt(r io.ReaderAt, b []byte, off int64) error {
	m, err := r.ReadAt(b, off)
	if m == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
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
	frames := int(l.dataSize / int64(l.frameSize()))
	a := &Audio{SampleRate: l.SampleRate, Channels: make([][]float64, l.Channels)}
	for c := range a.Channels {
		a.Channels[c] = make([]float64, frames)
	}
	if err := l.Format.decodeFrames(a.Channels, b[l.dataOff:l.dataOff+int64(frames*l.frameSize())], 0, l.dataOff); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeFrames converts the whole sample frames in b (len(b)/frameSize of them; b's first byte
// is file byte offset at, its first frame is frame first of the file) into dst[c][0:], one slice
// per channel, each at least that long. Errors name the frame, channel and byte offset of a
// non-finite float sample.
func (f Format) decodeFrames(dst [][]float64, b []byte, first int64, at int64) error {
	nch, size := f.Channels, f.Bits/8
	frames := len(b) / f.frameSize()
	le := binary.LittleEndian
	scale := 1 / math.Ldexp(1, f.Bits-1)
	p := 0
	for i := 0; i < frames; i++ {
		for c := 0; c < nch; c++ {
			s := b[p : p+size]
			var v float64
			switch {
			case f.Tag == formatFloat && size == 4:
				v = float64(math.Float32frombits(le.Uint32(s)))
			case f.Tag == formatFloat:
				v = math.Float64frombits(le.Uint64(s))
			case size == 1:
				v = float64(int(s[0])-128) * scale // 8-bit WAV is unsigned
			case size == 2:
				v = float64(int16(le.Uint16(s))) * scale
			case size == 3:
				v = float64(int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24)>>8) * scale
			default:
				v = float64(int32(le.Uint32(s))) * scale
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("sample %d of channel %d (byte offset %d) is %v", first+int64(i), c, at+int64(p), v)
			}
			dst[c][i] = v
			p += size
		}
	}
	return nil
}
