// Package wav reads and writes WAV files for rephase, on top of github.com/go-audio/wav.
//
// Reading accepts 8/16/24/32-bit integer PCM and 32-bit IEEE float, in plain WAVE_FORMAT_PCM /
// WAVE_FORMAT_IEEE_FLOAT files and in WAVE_FORMAT_EXTENSIBLE files (whose sub-format go-audio does
// not report: it is read from the fmt chunk here), any number of channels. go-audio hands float
// samples back as raw bit patterns; they are converted here. Writing produces 32-bit float
// (default) or 16-bit integer PCM, through a temporary file renamed into place, so a failed write
// leaves no partial output.
package wav

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/go-audio/audio"
	gowav "github.com/go-audio/wav"
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

// Read decodes the WAV file at path. Errors name the file and, where it applies, the byte offset.
func Read(path string) (*Audio, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	format, dataOff, dataSize, err := scanChunks(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(dataOff)+int64(dataSize) > int64(len(data)) {
		return nil, fmt.Errorf("%s: truncated data chunk: its header at offset %d declares %d bytes, the file ends %d bytes later",
			path, dataOff-8, dataSize, len(data)-dataOff)
	}
	d := gowav.NewDecoder(bytes.NewReader(data))
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if format == formatExtensible || format == 0 {
		format = int(d.WavAudioFormat)
	}
	nch := int(d.NumChans)
	bits := int(d.BitDepth)
	if nch < 1 || d.SampleRate == 0 {
		return nil, fmt.Errorf("%s: invalid fmt chunk: %d channels at %d Hz", path, nch, d.SampleRate)
	}
	switch {
	case format == formatPCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32):
	case format == formatFloat && bits == 32:
	default:
		return nil, fmt.Errorf("%s: unsupported encoding: format tag %#x with %d bits per sample (want integer PCM 8/16/24/32 or 32-bit float)", path, format, bits)
	}
	frames := len(buf.Data) / nch
	if want := dataSize / (nch * bits / 8); frames < want {
		return nil, fmt.Errorf("%s: data chunk at offset %d: decoded %d of %d sample frames", path, dataOff, frames, want)
	}
	a := &Audio{SampleRate: int(d.SampleRate), Channels: make([][]float64, nch)}
	for c := range a.Channels {
		a.Channels[c] = make([]float64, frames)
	}
	scale := 1 / math.Ldexp(1, bits-1)
	for i := 0; i < frames; i++ {
		for c := 0; c < nch; c++ {
			v := buf.Data[i*nch+c]
			var f float64
			switch {
			case format == formatFloat:
				f = float64(math.Float32frombits(uint32(v)))
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, fmt.Errorf("%s: sample %d of channel %d (byte offset %d) is %v", path, i, c, dataOff+(i*nch+c)*4, f)
				}
			case bits == 8:
				f = float64(v-128) * scale // 8-bit WAV is unsigned
			default:
				f = float64(v) * scale
			}
			a.Channels[c][i] = f
		}
	}
	return a, nil
}

// scanChunks walks the RIFF chunks and returns the format tag (the sub-format for
// WAVE_FORMAT_EXTENSIBLE), and the offset and size of the data chunk's payload.
func scanChunks(b []byte) (format, dataOff, dataSize int, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, 0, 0, fmt.Errorf("not a RIFF/WAVE file (offset 0)")
	}
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+size > len(b) {
				return 0, 0, 0, fmt.Errorf("fmt chunk at offset %d is %d bytes, too short", off, size)
			}
			format = int(binary.LittleEndian.Uint16(b[body:]))
			if format == formatExtensible && size >= 40 {
				format = int(binary.LittleEndian.Uint16(b[body+24:])) // first bytes of the sub-format GUID
			}
		case "data":
			if format == 0 {
				return 0, 0, 0, fmt.Errorf("data chunk at offset %d before any fmt chunk", off)
			}
			return format, body, size, nil
		}
		off = body + size + size&1
	}
	return 0, 0, 0, fmt.Errorf("no data chunk (file is %d bytes)", len(b))
}

// Encoding is the sample format of a written file.
type Encoding int

const (
	// Float32 writes 32-bit IEEE float samples (WAVE_FORMAT_IEEE_FLOAT). Default.
	Float32 Encoding = iota
	// PCM16 writes 16-bit integer samples, clipped to [−1, 1).
	PCM16
)

// Write writes channels (each the same length) at sampleRate to path, through a temporary file
// in the same directory that is renamed into place only when complete.
func Write(path string, sampleRate int, channels [][]float64, enc Encoding) (err error) {
	if len(channels) == 0 {
		return fmt.Errorf("%s: no channels to write", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bits, tag := 32, formatFloat
	if enc == PCM16 {
		bits, tag = 16, formatPCM
	}
	e := gowav.NewEncoder(tmp, sampleRate, bits, len(channels), tag)
	n := len(channels[0])
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: len(channels), SampleRate: sampleRate}, SourceBitDepth: bits,
		Data: make([]int, n*len(channels))}
	for i := 0; i < n; i++ {
		for c, ch := range channels {
			v := ch[i]
			if enc == PCM16 {
				buf.Data[i*len(channels)+c] = int(math.Max(-32768, math.Min(32767, math.Round(v*32768))))
			} else {
				buf.Data[i*len(channels)+c] = int(int32(math.Float32bits(float32(v))))
			}
		}
	}
	if err = e.Write(buf); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err = e.Close(); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
