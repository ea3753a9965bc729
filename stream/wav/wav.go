// Package wav reads and writes WAV files for rephase, without a WAV library.
//
// Reading accepts 8/16/24/32-bit integer PCM and 32/64-bit IEEE float (64-bit is what scipy's
// wavfile.write produces from float64 arrays), in plain WAVE_FORMAT_PCM / WAVE_FORMAT_IEEE_FLOAT
// files and in WAVE_FORMAT_EXTENSIBLE files, any number of channels, at 1…MaxSampleRate Hz.
// go-audio's decoder is not used because it cannot meet that: it reads one sample per Read call,
// reads the RIFF pad byte of an odd-sized data chunk as an extra sample (a full-scale click at
// the end of 8-bit and 24-bit mono files with an odd sample count), ignores a second data chunk,
// has no 64-bit float, and its errors carry no byte offset. Here the RIFF chunks are walked and
// the fmt chunk validated first (parse), then the samples are converted from the file's bytes
// (decode); every error names the file and the byte offset.
//
// Writing (write.go) produces 32-bit float (default; the 58-byte header sox writes, with cbSize
// 0 and a fact chunk) or 16-bit integer PCM (the 44-byte header) through
// internal/outfile: a regular file is written to a temporary file renamed into place when
// complete, so a failed write leaves no partial output; devices, FIFOs and symlinks are written
// through, and "-" is standard output. A streaming writer that cannot seek back (a pipe) writes
// every size as 0xFFFFFFFF; readers take that size, and on piped input any data chunk longer
// than the stream (OpenPiped), as "to the end". Every writer (Write, Recorder) refuses
// non-finite samples.
package wav

import (
	"fmt"
	"os"
)

// Audio is decoded audio: Channels[c][i] is sample i of channel c, in [−1, 1) for integer PCM.
type Audio struct {
	SampleRate int
	Channels   [][]float64
}

// Len returns the number of samples per channel.
func (a *Audio) Len() int {
	if len(a.Channels) == 0 {
		return 0
	}
	return len(a.Channels[0])
}

const (
	formatPCM        = 1
	formatFloat      = 3
	formatExtensible = 0xFFFE
)

// Read decodes the WAV file at path. Errors name the file and the byte offset of the fault.
func Read(path string) (*Audio, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Decode decodes a whole WAV file held in data (see Read). Errors name the byte offset.
func Decode(data []byte) (*Audio, error) {
	l, err := parse(data)
	if err != nil {
		return nil, err
	}
	return decode(data, l)
}

// Encoding is the sample format of a written file.
type Encoding int

const (
	// Float32 writes 32-bit IEEE float samples (WAVE_FORMAT_IEEE_FLOAT). Default.
	Float32 Encoding = iota
	// PCM16 writes 16-bit integer samples, clipped to [−1, 1).
	PCM16
)
