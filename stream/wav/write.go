package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rephase/rephase/internal/outfile"
)

// NonFiniteError reports a NaN or infinite sample handed to a writer, which refuses it rather
// than write a file no player can use.
type NonFiniteError struct {
	Path    string
	Channel int
	Sample  int // index within the channel (Write) or within the call's block of frames (Recorder)
	Value   float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("%s: channel %d, sample %d: non-finite sample %v (refusing to write it)", e.Path, e.Channel, e.Sample, e.Value)
}

// Unwritable reports whether a sample cannot be written: NaN, ±Inf, or beyond float32's range
// (|v| > math.MaxFloat32, which a Float32 file would store as ±Inf). Writers return a
// *NonFiniteError for it.
func Unwritable(v float64) bool { return !(math.Abs(v) <= math.MaxFloat32) }

// header returns the RIFF/WAVE header of a file holding dataBytes bytes of samples (len(header)
// = headerSize(enc)). PCM16 gets the classic 44-byte header (a 16-byte WAVE_FORMAT_PCM fmt
// chunk). Float32 gets the header the WAVE specification asks of a non-PCM format, as sox writes
// it: an 18-byte WAVE_FORMAT_IEEE_FLOAT fmt chunk with cbSize = 0 and a fact chunk holding the
// number of sample frames (58 bytes; without cbSize, soxi warns "wave header missing extended
// part of fmt chunk"). dataBytes < 0 means a length not known in advance (an output written to a
// pipe, which cannot seek back): every size field is then 0xFFFFFFFF, as ffmpeg writes to a pipe,
// which readers (rephase's, ffmpeg's, sox's) take as "samples until the end of the stream".
func header(sampleRate, channels int, enc Encoding, dataBytes int64) []byte {
	bits, tag := 32, formatFloat
	if enc == PCM16 {
		bits, tag = 16, formatPCM
	}
	le := binary.LittleEndian
	n := headerSize(enc)
	h := make([]byte, 0, n)
	riff, data, frames := uint32(math.MaxUint32), uint32(math.MaxUint32), uint32(math.MaxUint32)
	if dataBytes >= 0 {
		riff, data = uint32(int64(n-8)+dataBytes), uint32(dataBytes)
		frames = uint32(dataBytes / int64(channels*bits/8))
	}
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, riff)
	h = append(h, "WAVEfmt "...)
	if enc == PCM16 {
		h = le.AppendUint32(h, 16)
	} else {
		h = le.AppendUint32(h, 18)
	}
	h = le.AppendUint16(h, uint16(tag))
	h = le.AppendUint16(h, uint16(channels))
	h = le.AppendUint32(h, uint32(sampleRate))
	h = le.AppendUint32(h, uint32(sampleRate*channels*bits/8))
	h = le.AppendUint16(h, uint16(channels*bits/8))
	h = le.AppendUint16(h, uint16(bits))
	if enc != PCM16 {
		h = le.AppendUint16(h, 0) // cbSize
		h = append(h, "fact"...)
		h = le.AppendUint32(h, 4)
		h = le.AppendUint32(h, frames)
	}
	h = append(h, "data"...)
	h = le.AppendUint32(h, data)
	return h
}

// headerSize is the length of header's result: 44 bytes for PCM16, 58 for Float32.
func headerSize(enc Encoding) int {
	if enc == PCM16 {
		return 44
	}
	return 58
}

// bytesPerSample is the size of one sample of one channel.
func (enc Encoding) bytesPerSample() int {
	if enc == PCM16 {
		return 2
	}
	return 4
}

// maxDataBytes is the largest data chunk a RIFF file written here can describe: the RIFF size
// field (32 bits) counts the data and the 50 bytes of the float header after it, and the value
// 0xFFFFFFFF is kept for "length unknown".
const maxDataBytes = math.MaxUint32 - 51

// Write writes channels (each the same length, every sample finite) at sampleRate to path,
// through outfile.Create: a regular file appears only once complete (no partial or temporary
// file is left on any error, or when the goroutine panics), a device, FIFO or symlink is written
// through, a new file gets mode 0666 less the umask. PCM16 samples are clipped to [−1, 1).
// Errors name the path; a NaN or infinite sample is a *NonFiniteError, found before anything is
// written.
func Write(path string, sampleRate int, channels [][]float64, enc Encoding) error {
	if len(channels) == 0 || len(channels) > math.MaxUint16 {
		return fmt.Errorf("%s: %d channels to write (want 1…%d)", path, len(channels), math.MaxUint16)
	}
	if err := CheckSampleRate(sampleRate); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	n := len(channels[0])
	for c, ch := range channels {
		if len(ch) != n {
			return fmt.Errorf("%s: channel %d has %d samples, channel 0 %d", path, c, len(ch), n)
		}
		for i, v := range ch {
			if Unwritable(v) {
				return &NonFiniteError{Path: path, Channel: c, Sample: i, Value: v}
			}
		}
	}
	size := enc.bytesPerSample()
	data := int64(n) * int64(len(channels)) * int64(size)
	if data > maxDataBytes {
		return fmt.Errorf("%s: %d samples × %d channels exceed the WAV format's 4 GiB", path, n, len(channels))
	}
	f, err := outfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Close() // removes the temporary file unless committed
	w := bufio.NewWriterSize(f, 1<<16)
	if _, err := w.Write(header(sampleRate, len(channels), enc, data)); err != nil {
		return err
	}
	var b [4]byte
	for i := 0; i < n; i++ {
		for _, ch := range channels {
			if enc == PCM16 {
				binary.LittleEndian.PutUint16(b[:], uint16(S16(ch[i])))
			} else {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(ch[i])))
			}
			if _, err := w.Write(b[:size]); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Commit()
}

// Clipped returns how many samples of channels PCM16 cannot hold: those that round beyond
// −32768…32767 (|v| ≳ 1) and are clipped to full scale when written.
func Clipped(channels [][]float64) int {
	n := 0
	for _, ch := range channels {
		for _, v := range ch {
			if r := math.Round(v * 32768); r > 32767 || r < -32768 {
				n++
			}
		}
	}
	return n
}
