package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rephase/rephase/internal/outfile"
)

// Writer writes a WAV file of a length not known in advance block by block, holding one block in
// memory: it is how stream, synth and live write their output, whatever the input's length. The
// file is created through outfile.Create as Write's are: a regular file appears, complete, only
// at Commit (Close before Commit leaves nothing behind), a device, FIFO or symlink is written
// through. The header's sizes are patched at Commit; written in place to a device, FIFO or standard
// output (outfile.Create("-")), which cannot seek, every size field of the header is 0xFFFFFFFF,
// which readers (Open, sox, ffmpeg) take as "until the end of the stream".
//
// The samples are encoded as Write encodes them, so a file written through a Writer has the same
// bytes as Write of the same samples. Not safe for concurrent use.
type Writer struct {
	f        *outfile.File
	w        *bufio.Writer
	path     string
	rate     int
	channels int
	enc      Encoding
	frames   int64
	clipped  int64
	buf      []byte
}

// NewWriter starts the WAV file path with the given sample rate (1…MaxSampleRate Hz), channel
// count (1…65535) and encoding. Errors name the path.
func NewWriter(path string, sampleRate, channels int, enc Encoding) (*Writer, error) {
	if channels < 1 || channels > math.MaxUint16 || CheckSampleRate(sampleRate) != nil {
		return nil, fmt.Errorf("%s: %d channels at %d Hz (want 1…%d channels at 1…%d Hz)", path, channels, sampleRate, math.MaxUint16, MaxSampleRate)
	}
	f, err := outfile.Create(path)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f, w: bufio.NewWriterSize(f, 1<<16), path: path, rate: sampleRate, channels: channels, enc: enc}
	size := int64(0)
	if !f.Seekable() {
		size = -1 // unknown
	}
	if _, err := w.w.Write(header(sampleRate, channels, enc, size)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Write appends block, one slice per channel (len(block) = the channel count, all of the same
// length). A NaN or infinite sample is a *NonFiniteError (Sample counts from the start of the
// file) and nothing of the block is written. PCM16 samples are clipped to [−1, 1).
func (w *Writer) Write(block [][]float64) error {
	if len(block) != w.channels {
		return fmt.Errorf("%s: a block of %d channels for a %d-channel file", w.path, len(block), w.channels)
	}
	n := len(block[0])
	for c, ch := range block {
		if len(ch) != n {
			return fmt.Errorf("%s: channel %d has %d samples, channel 0 %d", w.path, c, len(ch), n)
		}
		for i, v := range ch {
			if Unwritable(v) {
				return &NonFiniteError{Path: w.path, Channel: c, Sample: int(w.frames) + i, Value: v}
			}
		}
	}
	size := w.enc.bytesPerSample()
	if (w.frames+int64(n))*int64(w.channels*size) > maxDataBytes {
		return fmt.Errorf("%s: %d samples × %d channels exceed the WAV format's 4 GiB", w.path, w.frames+int64(n), w.channels)
	}
	w.buf = w.buf[:0]
	for i := 0; i < n; i++ {
		for _, ch := range block {
			if w.enc == PCM16 {
				if r := math.Round(ch[i] * 32768); r > 32767 || r < -32768 {
					w.clipped++
				}
				w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(S16(ch[i])))
			} else {
				w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(float32(ch[i])))
			}
		}
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	w.frames += int64(n)
	return nil
}

// Frames returns the number of samples per channel written.
func (w *Writer) Frames() int64 { return w.frames }

// Clipped returns the number of PCM16 samples written so far that were beyond full scale and
// clipped (as the function Clipped counts them); 0 for Float32.
func (w *Writer) Clipped() int64 { return w.clipped }

// Commit finishes the file: the buffered samples are written, the header's sizes patched and the
// file put in place (outfile.File.Commit). On error nothing is left behind.
func (w *Writer) Commit() error {
	if err := w.w.Flush(); err != nil {
		w.f.Close()
		return err
	}
	if w.f.Seekable() {
		data := w.frames * int64(w.channels*w.enc.bytesPerSample())
		if _, err := w.f.WriteAt(header(w.rate, w.channels, w.enc, data), 0); err != nil {
			w.f.Close()
			return err
		}
	}
	return w.f.Commit()
}

// Close abandons an uncommitted file (its temporary file is removed); after Commit it does
// nothing. Meant to be deferred right after NewWriter.
func (w *Writer) Close() error { return w.f.Close() }
