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

// header returns the 44-byte RIFF/WAVE header of a file holding dataBytes bytes of samples: a
// 16-byte fmt chunk (format 3 for Float32, 1 for PCM16) and the data chunk's header.
func header(sampleRate, channels int, enc Encoding, dataBytes int64) []byte {
	bits, tag := 32, formatFloat
	if enc == PCM16 {
		bits, tag = 16, formatPCM
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+dataBytes))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], uint16(tag))
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(sampleRate*channels*bits/8))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(dataBytes))
	return h
}

// bytesPerSample is the size of one sample of one channel.
func (enc Encoding) bytesPerSample() int {
	if enc == PCM16 {
		return 2
	}
	return 4
}

// maxDataBytes is the largest data chunk a RIFF file can describe (its size field is 32 bits).
const maxDataBytes = math.MaxUint32 - 36

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
			if math.IsNaN(v) || math.IsInf(v, 0) {
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
