package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync"
	"time"
)

// Recorder writes a WAV file incrementally (32-bit float or 16-bit PCM, interleaved channels),
// for recordings of unknown length. The RIFF and data chunk sizes are patched into the header at
// least once per second, on Sync and on Close, so a process killed mid-recording still leaves a
// valid file holding everything up to the last patch, and a graceful stop (Close) loses nothing.
// (go-audio/wav's Encoder, which Write uses, writes the sizes only when it is closed.)
//
// Write and Close must not be called concurrently with each other.
type Recorder struct {
	path     string
	f        *os.File
	w        *bufio.Writer
	channels int
	enc      Encoding
	frames   int64
	lastSync time.Time
	buf      []byte
	mu       sync.Mutex
	closed   bool
}

// Create starts a recording at path (truncating it) with the given sample rate (1…MaxSampleRate
// Hz), channel count and encoding.
func Create(path string, sampleRate, channels int, enc Encoding) (*Recorder, error) {
	if channels < 1 || channels > math.MaxUint16 || CheckSampleRate(sampleRate) != nil {
		return nil, fmt.Errorf("%s: %d channels at %d Hz (want 1…%d channels at 1…%d Hz)", path, channels, sampleRate, math.MaxUint16, MaxSampleRate)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	r := &Recorder{path: path, f: f, w: bufio.NewWriterSize(f, 1<<16), channels: channels, enc: enc, lastSync: time.Now()}
	bits, tag := 32, formatFloat
	if enc == PCM16 {
		bits, tag = 16, formatPCM
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], uint16(tag))
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(sampleRate*channels*bits/8))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[4:], 36)
	if _, err := r.w.Write(h); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return r, nil
}

// Write appends interleaved samples (a multiple of the channel count). Samples outside [−1, 1]
// are clipped for PCM16 and kept for float.
func (r *Recorder) Write(samples []float32) error {
	if len(samples)%r.channels != 0 {
		return fmt.Errorf("%s: %d samples is not a whole number of %d-channel frames", r.path, len(samples), r.channels)
	}
	size := 4
	if r.enc == PCM16 {
		size = 2
	}
	if cap(r.buf) < len(samples)*size {
		r.buf = make([]byte, len(samples)*size)
	}
	b := r.buf[:len(samples)*size]
	for i, v := range samples {
		if r.enc == PCM16 {
			q := math.Round(float64(v) * 32768)
			binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(max(-32768, min(32767, q)))))
		} else {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%s: write after close", r.path)
	}
	if _, err := r.w.Write(b); err != nil {
		return fmt.Errorf("%s: %v", r.path, err)
	}
	r.frames += int64(len(samples) / r.channels)
	if time.Since(r.lastSync) >= time.Second {
		return r.syncLocked()
	}
	return nil
}

// Frames returns the number of frames written.
func (r *Recorder) Frames() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// Sync flushes buffered samples and patches the header's sizes.
func (r *Recorder) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return r.syncLocked()
}

func (r *Recorder) syncLocked() error {
	r.lastSync = time.Now()
	if err := r.w.Flush(); err != nil {
		return fmt.Errorf("%s: %v", r.path, err)
	}
	size := 4
	if r.enc == PCM16 {
		size = 2
	}
	data := r.frames * int64(r.channels*size)
	if data > math.MaxUint32-36 {
		return fmt.Errorf("%s: recording exceeds the WAV format's 4 GiB", r.path)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(36+data))
	if _, err := r.f.WriteAt(b[:], 4); err != nil {
		return fmt.Errorf("%s: %v", r.path, err)
	}
	binary.LittleEndian.PutUint32(b[:], uint32(data))
	if _, err := r.f.WriteAt(b[:], 40); err != nil {
		return fmt.Errorf("%s: %v", r.path, err)
	}
	return nil
}

// Close finalises the file. Idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	err := r.syncLocked()
	r.closed = true
	if e := r.f.Close(); err == nil && e != nil {
		err = fmt.Errorf("%s: %v", r.path, e)
	}
	return err
}
