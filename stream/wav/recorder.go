package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"
	"time"

	"github.com/rephase/rephase/internal/outfile"
)

// Recorder writes a WAV file incrementally (32-bit float or 16-bit PCM, interleaved channels),
// for recordings of unknown length, in place (not through a temporary file: a recording must
// survive the process). The RIFF and data chunk sizes are patched into the header at least once
// per second, on Sync and on Close, so a process killed mid-recording still leaves a valid file
// holding everything up to the last patch, and a graceful stop (Close) loses nothing.
//
// When a write fails (a full disk), the recording stops there: the header is patched with the
// whole frames that reached the file, a partial trailing frame is truncated away, and every later
// Write returns the same error, so the file stays a valid WAV of what was written. A device or
// FIFO target (/dev/null, a named pipe) is written through with the header's sizes 0xFFFFFFFF (length unknown).
//
// Write and Close must not be called concurrently with each other.
type Recorder struct {
	path     string
	f        *os.File
	regular  bool // the header can be patched (WriteAt) and the file truncated
	rate     int
	channels int
	enc      Encoding
	frames   int64  // whole frames accepted (and, after a failure, on file)
	written  int64  // sample bytes that reached the file
	pending  []byte // converted samples not yet written
	failed   error  // the sticky write error
	lastSync time.Time
	mu       sync.Mutex
	closed   bool
}

// recorderBuffer is how many bytes of samples Write collects before writing them to the file.
const recorderBuffer = 1 << 16

// Create starts a recording at path (truncating it) with the given sample rate (1…MaxSampleRate
// Hz), channel count and encoding. A new file's mode is 0666 less the umask. "-" records to
// standard output (outfile.Stdout), a pipe's sizes left at 0xFFFFFFFF.
func Create(path string, sampleRate, channels int, enc Encoding) (*Recorder, error) {
	if channels < 1 || channels > math.MaxUint16 || CheckSampleRate(sampleRate) != nil {
		return nil, fmt.Errorf("%s: %d channels at %d Hz (want 1…%d channels at 1…%d Hz)", path, channels, sampleRate, math.MaxUint16, MaxSampleRate)
	}
	f := outfile.Stdout // "-": standard output, as outfile.Create
	if path != "-" {
		var err error
		if f, err = os.Create(path); err != nil {
			return nil, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &Recorder{path: path, f: f, regular: fi.Mode().IsRegular(), rate: sampleRate, channels: channels, enc: enc, lastSync: time.Now(),
		pending: make([]byte, 0, recorderBuffer)}
	size := int64(0)
	if !r.regular {
		size = -1 // a device or FIFO: length unknown
	}
	if _, err := f.Write(header(sampleRate, channels, enc, size)); err != nil {
		f.Close()
		if r.regular {
			os.Remove(path) // not even a header: nothing worth keeping
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return r, nil
}

// Write appends interleaved samples (a multiple of the channel count, every one finite; a NaN
// or infinity is a *NonFiniteError and nothing of the call is written). PCM16 samples outside
// [−1, 1) are clipped; float samples are kept as they are. After a failed write to the file,
// Write returns that error (see Recorder).
func (r *Recorder) Write(samples []float32) error {
	if len(samples)%r.channels != 0 {
		return fmt.Errorf("%s: %d samples is not a whole number of %d-channel frames", r.path, len(samples), r.channels)
	}
	for i, v := range samples {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return &NonFiniteError{Path: r.path, Channel: i % r.channels, Sample: i / r.channels, Value: f}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%s: write after close", r.path)
	}
	if r.failed != nil {
		return r.failed
	}
	size := r.enc.bytesPerSample()
	if r.written+int64(len(r.pending)+len(samples)*size) > maxDataBytes {
		return fmt.Errorf("%s: recording exceeds the WAV format's 4 GiB", r.path)
	}
	for _, v := range samples {
		if r.enc == PCM16 {
			r.pending = binary.LittleEndian.AppendUint16(r.pending, uint16(S16(float64(v))))
		} else {
			r.pending = binary.LittleEndian.AppendUint32(r.pending, math.Float32bits(v))
		}
	}
	r.frames += int64(len(samples) / r.channels)
	if len(r.pending) >= recorderBuffer {
		if err := r.flushLocked(); err != nil {
			return r.syncLocked() // finalise the header for what reached the file
		}
	}
	if time.Since(r.lastSync) >= time.Second {
		return r.syncLocked()
	}
	return nil
}

// flushLocked writes the pending samples. On failure it records the sticky error and keeps
// count of the whole frames that reached the file.
func (r *Recorder) flushLocked() error {
	if r.failed != nil {
		return r.failed
	}
	n, err := r.f.Write(r.pending)
	r.written += int64(n)
	r.pending = r.pending[:0]
	if err != nil {
		frame := int64(r.channels * r.enc.bytesPerSample())
		r.frames = r.written / frame
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		r.failed = fmt.Errorf("%s: %v (recording stopped after %d frames)", r.path, err, r.frames)
		return r.failed
	}
	return nil
}

// Frames returns the number of frames written (after a failed write: the frames kept on file).
func (r *Recorder) Frames() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// Sync writes buffered samples and patches the header's sizes. After a failed write it still
// finalises the header for the frames on file, and returns the write's error.
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
	err := r.flushLocked()
	if !r.regular {
		return err
	}
	data := r.frames * int64(r.channels*r.enc.bytesPerSample())
	if err != nil && r.written > data { // drop a partial trailing frame
		if e := r.f.Truncate(int64(headerSize(r.enc)) + data); e != nil {
			return fmt.Errorf("%w; truncating to %d frames: %v", err, r.frames, e)
		}
		r.written = data
	}
	if _, e := r.f.WriteAt(header(r.rate, r.channels, r.enc, data), 0); e != nil && err == nil {
		err = fmt.Errorf("%s: %v", r.path, e)
	}
	return err
}

// Close finalises the file (see Sync) and closes it. Idempotent.
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
