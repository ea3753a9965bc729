package wav

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Reader streams the samples of a WAV file in blocks, holding one block in memory whatever the
// file's length: it is how stream, analyze and live read their input. It accepts exactly the
// files Read accepts (the header is validated by the same parser, and Read's Audio equals the
// concatenation of what Reader returns) and reports the same errors with the same byte offsets.
//
// The one check Read makes on the samples — float samples must be finite — can only fail
// part-way through a stream; Check makes it up front, in one pass that keeps nothing, so that
// a command can refuse a bad file before it writes any output. Integer PCM cannot fail it.
//
// Not safe for concurrent use.
type Reader struct {
	r      io.ReaderAt
	closer io.Closer
	name   string // error prefix, "" for NewReader
	l      layout
	frames int64 // sample frames in the data chunk
	pos    int64 // frames returned so far
	buf    []byte
}

// readerBlock is the number of bytes Check reads at a time.
const readerBlock = 1 << 16

// Open opens the WAV file at path and validates its header. Errors name the file and the byte
// offset of the fault. Close it when done.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer, r.name = f, path
	return r, nil
}

// NewReader validates the header of the size-byte WAV file read through ra and returns a Reader
// of its samples. Close does nothing for it.
func NewReader(ra io.ReaderAt, size int64) (*Reader, error) {
	return newReader(ra, size, false)
}

// OpenPiped returns a Reader of the WAV stream that arrived through a pipe (standard input) and
// was copied to f, a seekable file (see Spool): as for a file declaring the unknown length
// 0xFFFFFFFF, a data chunk declaring more bytes than arrived holds the samples up to the end of
// the stream (sox writes a 2 GiB placeholder to a pipe). Errors are prefixed with name. Close
// closes f.
func OpenPiped(f *os.File, name string) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, st.Size(), true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.closer, r.name = f, name
	return r, nil
}

// Spool copies the stream r (standard input, a pipe) to an unnamed temporary file in
// os.TempDir (unlinked at once, so that nothing is left behind however the process ends) and
// returns it rewound, with its length in bytes. It is how a command reads "-": the header and
// every sample can then be checked before any output is written, with memory flat in the
// stream's length. Close the file when done.
func Spool(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "rephase-stdin-*")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name())
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("copying standard input to a temporary file: %w", err)
	}
	return f, n, nil
}

func newReader(ra io.ReaderAt, size int64, piped bool) (*Reader, error) {
	l, err := parseAt(ra, size, piped)
	if err != nil {
		return nil, err
	}
	return &Reader{r: ra, l: l, frames: l.dataSize / int64(l.frameSize())}, nil
}

// SampleRate returns the sample rate in Hz (1…MaxSampleRate).
func (r *Reader) SampleRate() int { return r.l.SampleRate }

// Channels returns the number of channels (≥ 1).
func (r *Reader) Channels() int { return r.l.Channels }

// Len returns the number of samples per channel in the file.
func (r *Reader) Len() int64 { return r.frames }

// Pos returns the number of samples per channel Read has returned.
func (r *Reader) Pos() int64 { return r.pos }

// Format returns the file's sample format.
func (r *Reader) Format() Format { return r.l.Format }

func (r *Reader) errorf(err error) error {
	if r.name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", r.name, err)
}

// Read decodes the next samples into dst, one slice per channel (len(dst) = Channels(), all of
// the same length n > 0), as Read's Audio holds them: integer PCM scaled to [−1, 1), float as
// it is. It returns the number of samples per channel read, min(n, Len() − Pos()); at the end of
// the data it returns 0, io.EOF. A non-finite float sample is an error naming the sample,
// channel and byte offset. It allocates only the first time (or when n grows).
func (r *Reader) Read(dst [][]float64) (int, error) {
	if len(dst) != r.l.Channels || len(dst[0]) == 0 {
		panic(fmt.Sprintf("wav: Read into %d channels of %d samples, want %d channels, > 0 samples", len(dst), len(dst[0]), r.l.Channels))
	}
	if r.pos >= r.frames {
		return 0, io.EOF
	}
	n := int(min(int64(len(dst[0])), r.frames-r.pos))
	fs := r.l.frameSize()
	if cap(r.buf) < n*fs {
		r.buf = make([]byte, n*fs)
	}
	b := r.buf[:n*fs]
	at := r.l.dataOff + r.pos*int64(fs)
	if err := readAt(r.r, b, at); err != nil {
		return 0, r.errorf(fmt.Errorf("reading %d bytes of samples at offset %d: %v", len(b), at, err))
	}
	if err := r.l.decodeFrames(dst, b, r.pos, at); err != nil {
		return 0, r.errorf(err)
	}
	r.pos += int64(n)
	return n, nil
}

// Check scans a float file's samples for NaN and ±Inf without keeping them (one pass through
// the file in 64 KiB blocks) and returns the error Read would give on the first; for integer
// PCM it returns nil at once. It does not move Pos.
func (r *Reader) Check() error {
	if r.l.Tag != formatFloat {
		return nil
	}
	fs := r.l.frameSize()
	per := max(1, readerBlock/fs)
	b := make([]byte, per*fs)
	bits := r.l.Bits
	for first := int64(0); first < r.frames; first += int64(per) {
		n := int(min(int64(per), r.frames-first))
		at := r.l.dataOff + first*int64(fs)
		if err := readAt(r.r, b[:n*fs], at); err != nil {
			return r.errorf(fmt.Errorf("reading %d bytes of samples at offset %d: %v", n*fs, at, err))
		}
		for p := 0; p < n*fs; p += bits / 8 {
			var v float64
			if bits == 32 {
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[p:])))
			} else {
				v = math.Float64frombits(binary.LittleEndian.Uint64(b[p:]))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				i := p / fs
				return r.errorf(fmt.Errorf("sample %d of channel %d (byte offset %d) is %v", first+int64(i), (p%fs)/(bits/8), at+int64(p), v))
			}
		}
	}
	return nil
}

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}
