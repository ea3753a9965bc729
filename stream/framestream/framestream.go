// Package framestream reads and writes rephase's frame stream: STFT magnitude frames piped
// between programs (rephase analyze | your-filter | rephase synth). The format is specified in
// docs/frame-stream.md: a 48-byte little-endian header (magic "RPFS", version 2, sample type,
// sample rate, n_fft, hop, win_length, window, bins, framing, window symmetry, signal length)
// followed by frames of bins little-endian float32 magnitudes, or, headerless, the frames alone
// with the parameters given out of band. A mel stream (frames of n_mels values of a mel
// spectrogram, e.g. a TTS model's output) has a 96-byte version 3 header that also describes the
// filterbank and the compression. Readers also accept version 1's 32-byte header (Full framing,
// periodic window, length unknown).
package framestream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// Magic opens every frame stream with a header.
const Magic = "RPFS"

// Version is the header version this package writes for linear magnitude streams; mel streams
// are VersionMel. It reads versions 1, 2 and 3.
const Version = 2

// VersionMel is the header version of a mel stream.
const VersionMel = 3

// HeaderSize is the length in bytes of the version 2 header, the one this package writes for
// linear magnitude streams.
const HeaderSize = 48

// HeaderSizeMel is the length in bytes of the version 3 (mel) header.
const HeaderSizeMel = 96

// HeaderSizeV1 is the length in bytes of a version 1 header.
const HeaderSizeV1 = 32

// prefixSize is what every version shares and a reader reads first: magic, version and sample
// type.
const prefixSize = 8

// MaxNFFT bounds n_fft in a header.
const MaxNFFT = 1 << 20

// MaxWindowSamples bounds n_fft · ⌈n_fft/hop⌉, the samples of the frames that overlap one hop,
// so that a corrupt or hostile header cannot demand terabytes. The streaming engine's memory is
// about (ℓ + ⌈n_fft/hop⌉) · n_fft values (a magnitude row of n_fft/2+1 bins for each of the
// ℓ + n_fft/hop frames it refines, plus per-frame work buffers), so this bound is what makes it
// finite before anything is allocated: n_fft 2^20 with hop 1 (4.4 TB) is refused, while every
// practical setting fits — n_fft 4096 at any hop ≥ 1, 16384 at hop ≥ 16, 65536 at hop ≥ 256,
// 2^20 at hop ≥ 2^16 — at most 2^24 samples. Measured (stream.NewEngine, ℓ = 3): 70 MB at n_fft
// 4096, hop 1; 110 MB at 65536, hop 256; 790 MB at 2^20, hop 2^16.
const MaxWindowSamples = 1 << 24

// SampleFloat32 is the only sample type: little-endian IEEE-754 float32 linear magnitudes.
const SampleFloat32 = 1

// Header describes a frame stream. On the wire the window is an explicit code (see
// WindowCode), not retrieval.Window's value, so reordering that enum cannot change a file's
// meaning. The zero values of the fields added in version 2 are what a version 1 header means:
// Full framing, a periodic window, length unknown.
type Header struct {
	SampleRate int // Hz
	NFFT       int
	Hop        int
	WinLength  int
	Window     retrieval.Window
	// Center marks frames centred on m·hop (torch.stft(center=True), librosa), frame m covering
	// samples m·hop − n_fft/2 … m·hop + n_fft/2 − 1, instead of the causal Full framing that
	// rephase analyze writes (frame m starting at m·hop − retrieval.Config.Padding()).
	Center bool
	// Symmetric marks a symmetric window (period win_length − 1) instead of a periodic one.
	Symmetric bool
	// Length is the analysed signal's length in samples, 0 if unknown (e.g. a pipe). A reader
	// may trim its output to it.
	Length int64
	// Mel, if not nil, makes the stream a mel stream (version 3): each frame is Mel.NMels values
	// g(Φ·|X|^p) with Φ this filterbank (its SampleRate and NFFT are the header's; they are filled
	// in on reading and must match on writing, or be 0) and p, g as MelLoss describes.
	Mel *retrieval.MelConfig
	// MelLoss is a mel stream's power and compression (Power 1 or 2; Log, Floor, Ref; TopDB must
	// be 0, since a stream cannot be clipped relative to its own future maximum).
	MelLoss retrieval.MelLoss
}

// Mel wire codes (version 3 header offsets 52, 54 and 74).
const (
	MelScaleCodeSlaney = 0
	MelScaleCodeHTK    = 1
	MelNormCodeSlaney  = 0
	MelNormCodeNone    = 1
	MelLogCodeNone     = 0
	MelLogCodeLn       = 1
	MelLogCodeLog10    = 2
	MelLogCodeDB       = 3
)

// Window wire codes (header offset 24). They are fixed by docs/frame-stream.md, independent of
// retrieval.Window's declaration order.
const (
	WindowCodeHann        = 0
	WindowCodeHamming     = 1
	WindowCodeBlackman    = 2
	WindowCodeGaussian    = 3
	WindowCodeRectangular = 4
)

var windowCodes = [...]struct {
	code uint32
	w    retrieval.Window
}{
	{WindowCodeHann, retrieval.Hann},
	{WindowCodeHamming, retrieval.Hamming},
	{WindowCodeBlackman, retrieval.Blackman},
	{WindowCodeGaussian, retrieval.Gaussian},
	{WindowCodeRectangular, retrieval.Rectangular},
}

// WindowCode returns w's wire code, or false for a window the format has no code for.
func WindowCode(w retrieval.Window) (uint32, bool) {
	for _, c := range windowCodes {
		if c.w == w {
			return c.code, true
		}
	}
	return 0, false
}

// WindowFromCode returns the window of a wire code, or false for an unknown code.
func WindowFromCode(code uint32) (retrieval.Window, bool) {
	for _, c := range windowCodes {
		if c.code == code {
			return c.w, true
		}
	}
	return 0, false
}

// Framing codes (version 2 header offset 32).
const (
	FramingCodeFull   = 0
	FramingCodeCenter = 1
)

// flagSymmetric is bit 0 of the version 2 flags (offset 34); the other bits must be 0.
const flagSymmetric = 1

// Bins returns the number of float32 values in a frame: n_fft/2 + 1, or n_mels for a mel stream.
func (h Header) Bins() int {
	if h.Mel != nil {
		return h.Mel.NMels
	}
	return h.NFFT/2 + 1
}

// ValidValue reports whether v may appear in a frame: a linear magnitude accepted by
// retrieval.ValidMagnitude (0 ≤ v ≤ retrieval.MaxMagnitude); for a mel stream, a finite value, ≥ 0
// unless log-compressed, of at most MaxValue.
func (h Header) ValidValue(v float64) bool {
	return h.validValue(v, h.MaxValue())
}

func (h Header) validValue(v, maxV float64) bool {
	if h.Mel == nil {
		return retrieval.ValidMagnitude(v)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v > maxV {
		return false
	}
	return v >= 0 || h.MelLoss.Log != retrieval.LogNone
}

// MaxValue returns the largest value a frame may hold: retrieval.MaxMagnitude for linear
// magnitudes, and for a mel stream the stored value whose linear magnitude that is
// (retrieval.MelLoss.MaxValue; +Inf for an invalid MelLoss, which Validate refuses). Both allow a
// relative tolerance of 1e-5 in the linear magnitude, so that the ceiling stored as float32
// passes.
func (h Header) MaxValue() float64 {
	if h.Mel == nil {
		return retrieval.MaxMagnitude
	}
	v, err := h.MelLoss.MaxValue()
	if err != nil {
		return math.Inf(1)
	}
	return v
}

// Config returns the STFT configuration the streaming engine runs for this stream (resolved):
// n_fft, hop, win_length, window and its symmetry, always with Full framing. For a Center stream
// the frames are the same but sit Advance() samples earlier in the signal.
func (h Header) Config() (retrieval.Config, error) {
	return retrieval.Config{NFFT: h.NFFT, Hop: h.Hop, WinLength: h.WinLength, Window: h.Window, Symmetric: h.Symmetric, Framing: retrieval.Full}.Resolve()
}

// Advance returns how many samples earlier in the signal the stream's frames sit than Full
// framing puts them: 0 for Full, Padding − n_fft/2 for Center (frame m starts at m·hop − n_fft/2
// instead of m·hop − Padding, Padding = (⌈n_fft/hop⌉ − 1)·hop). A reconstruction that treats a
// Center stream as Full framing comes out Advance() samples late (n_fft 512, hop 128:
// 384 − 256 = 128 samples, one hop). It panics if h is invalid.
func (h Header) Advance() int {
	if !h.Center {
		return 0
	}
	c, err := h.Config()
	if err != nil {
		panic("framestream: Advance of an invalid header: " + err.Error())
	}
	return c.Padding() - h.NFFT/2
}

// Validate checks the fields: a sample rate of 1…wav.MaxSampleRate Hz, n_fft at most MaxNFFT,
// n_fft · ⌈n_fft/hop⌉ at most MaxWindowSamples, and a valid STFT configuration.
func (h Header) Validate() error {
	if err := wav.CheckSampleRate(h.SampleRate); err != nil {
		return err
	}
	if h.NFFT <= 0 || h.Hop <= 0 || h.WinLength <= 0 || h.NFFT > MaxNFFT {
		return fmt.Errorf("n_fft %d, hop %d, win_length %d must be positive (n_fft at most %d)", h.NFFT, h.Hop, h.WinLength, MaxNFFT)
	}
	if frames := (h.NFFT + h.Hop - 1) / h.Hop; h.NFFT > MaxWindowSamples/frames {
		return fmt.Errorf("n_fft %d with hop %d: %d overlapping frames of %d samples exceed %d samples of engine state (raise the hop)",
			h.NFFT, h.Hop, frames, h.NFFT, MaxWindowSamples)
	}
	if _, ok := WindowCode(h.Window); !ok {
		return fmt.Errorf("window %v has no frame-stream code", h.Window)
	}
	if h.Length < 0 {
		return fmt.Errorf("signal length %d is negative (0 means unknown)", h.Length)
	}
	if _, err := h.Config(); err != nil {
		return err
	}
	if h.Mel == nil {
		return nil
	}
	m := *h.Mel
	if (m.SampleRate != 0 && m.SampleRate != float64(h.SampleRate)) || (m.NFFT != 0 && m.NFFT != h.NFFT) {
		return fmt.Errorf("mel filterbank for %g Hz, n_fft %d in a stream of %d Hz, n_fft %d", m.SampleRate, m.NFFT, h.SampleRate, h.NFFT)
	}
	if m.NMels < 1 || m.NMels > h.NFFT/2+1 {
		return fmt.Errorf("n_mels %d must lie in 1…%d (the bins of n_fft %d)", m.NMels, h.NFFT/2+1, h.NFFT)
	}
	if h.MelLoss.TopDB != 0 {
		return fmt.Errorf("a mel stream cannot carry top_db %g (clip before writing)", h.MelLoss.TopDB)
	}
	m.SampleRate, m.NFFT = float64(h.SampleRate), h.NFFT
	if _, err := retrieval.NewMel(m); err != nil {
		return err
	}
	return h.MelLoss.Validate()
}

// MarshalBinary encodes the header as version 2 (HeaderSize bytes), or version 3
// (HeaderSizeMel bytes) for a mel stream.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	wc, _ := WindowCode(h.Window)
	b := make([]byte, 0, HeaderSizeMel)
	b = append(b, Magic...)
	version := uint16(Version)
	if h.Mel != nil {
		version = VersionMel
	}
	b = binary.LittleEndian.AppendUint16(b, version)
	b = binary.LittleEndian.AppendUint16(b, SampleFloat32)
	for _, v := range []uint32{uint32(h.SampleRate), uint32(h.NFFT), uint32(h.Hop), uint32(h.WinLength), wc, uint32(h.Bins())} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	framing, flags := uint16(FramingCodeFull), uint16(0)
	if h.Center {
		framing = FramingCodeCenter
	}
	if h.Symmetric {
		flags |= flagSymmetric
	}
	b = binary.LittleEndian.AppendUint16(b, framing)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint32(b, 0) // reserved
	b = binary.LittleEndian.AppendUint64(b, uint64(h.Length))
	if h.Mel != nil {
		b = h.appendMel(b)
	}
	return b, nil
}

var (
	melScaleCodes = [...]retrieval.MelScale{MelScaleCodeSlaney: retrieval.MelSlaney, MelScaleCodeHTK: retrieval.MelHTK}
	melNormCodes  = [...]retrieval.MelNorm{MelNormCodeSlaney: retrieval.MelNormSlaney, MelNormCodeNone: retrieval.MelNormNone}
	melLogCodes   = [...]retrieval.MelLog{MelLogCodeNone: retrieval.LogNone, MelLogCodeLn: retrieval.LogLn, MelLogCodeLog10: retrieval.LogLog10, MelLogCodeDB: retrieval.LogDB}
)

// code returns the index of v in codes (the wire code), which Validate has made sure exists.
func code[T comparable](codes []T, v T) uint16 {
	for i, c := range codes {
		if c == v {
			return uint16(i)
		}
	}
	panic(fmt.Sprintf("framestream: no wire code for %v", v))
}

// appendMel appends version 3's 48 bytes of filterbank and compression (offsets 48–95).
func (h Header) appendMel(b []byte) []byte {
	m, l := *h.Mel, h.MelLoss
	if m.FMax == 0 {
		m.FMax = float64(h.SampleRate) / 2
	}
	power := uint16(1)
	if l.Power == 2 {
		power = 2
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(m.NMels))
	b = binary.LittleEndian.AppendUint16(b, code(melScaleCodes[:], m.Scale))
	b = binary.LittleEndian.AppendUint16(b, code(melNormCodes[:], m.Norm))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.FMin))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.FMax))
	b = binary.LittleEndian.AppendUint16(b, power)
	b = binary.LittleEndian.AppendUint16(b, code(melLogCodes[:], l.Log))
	b = binary.LittleEndian.AppendUint32(b, 0) // reserved
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(l.Floor))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(l.Ref))
}

// unmarshalMel decodes version 3's mel fields from b (HeaderSizeMel bytes) into h.
func (h *Header) unmarshalMel(b []byte) error {
	u16 := func(off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
	f64 := func(off int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[off:])) }
	m := retrieval.MelConfig{SampleRate: float64(h.SampleRate), NFFT: h.NFFT,
		NMels: int(min(binary.LittleEndian.Uint32(b[48:]), 1<<30)), FMin: f64(56), FMax: f64(64)}
	if c := u16(52); int(c) < len(melScaleCodes) {
		m.Scale = melScaleCodes[c]
	} else {
		return &FormatError{52, fmt.Sprintf("unknown mel scale code %d (0 slaney, 1 htk)", c)}
	}
	if c := u16(54); int(c) < len(melNormCodes) {
		m.Norm = melNormCodes[c]
	} else {
		return &FormatError{54, fmt.Sprintf("unknown mel norm code %d (0 slaney, 1 none)", c)}
	}
	var l retrieval.MelLoss
	switch p := u16(72); p {
	case 1, 2:
		l.Power = float64(p)
	default:
		return &FormatError{72, fmt.Sprintf("mel power %d, want 1 or 2", p)}
	}
	if c := u16(74); int(c) < len(melLogCodes) {
		l.Log = melLogCodes[c]
	} else {
		return &FormatError{74, fmt.Sprintf("unknown log compression code %d (0 none, 1 ln, 2 log10, 3 dB)", c)}
	}
	if r := binary.LittleEndian.Uint32(b[76:]); r != 0 {
		return &FormatError{76, fmt.Sprintf("reserved field is %d, want 0", r)}
	}
	l.Floor, l.Ref = f64(80), f64(88)
	h.Mel, h.MelLoss = &m, l
	return nil
}

// FormatError reports a malformed frame stream, with the byte offset where it was found.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("frame stream: byte %d: %s", e.Offset, e.Msg)
}

// UnmarshalBinary decodes and validates a header of version 1 (HeaderSizeV1 bytes), 2
// (HeaderSize bytes) or 3 (HeaderSizeMel bytes, a mel stream).
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) >= 4 && string(b[:4]) != Magic {
		return &FormatError{0, fmt.Sprintf("magic %q, want %q (headerless streams need --headerless and the STFT parameters)", b[:4], Magic)}
	}
	if len(b) < prefixSize {
		return &FormatError{int64(len(b)), fmt.Sprintf("header cut short (%d of at least %d bytes)", len(b), HeaderSizeV1)}
	}
	v := binary.LittleEndian.Uint16(b[4:])
	size := headerSize(v)
	if size == 0 {
		return &FormatError{4, fmt.Sprintf("version %d, this program reads versions 1 to %d", v, VersionMel)}
	}
	if len(b) < size {
		return &FormatError{int64(len(b)), fmt.Sprintf("header cut short (%d of %d bytes)", len(b), size)}
	}
	if t := binary.LittleEndian.Uint16(b[6:]); t != SampleFloat32 {
		return &FormatError{6, fmt.Sprintf("sample type %d, want %d (float32)", t, SampleFloat32)}
	}
	u := func(off int) int { return int(min(uint64(binary.LittleEndian.Uint32(b[off:])), math.MaxInt)) } // int may have 32 bits
	win, ok := WindowFromCode(binary.LittleEndian.Uint32(b[24:]))
	if !ok {
		return &FormatError{24, fmt.Sprintf("unknown window code %d", binary.LittleEndian.Uint32(b[24:]))}
	}
	*h = Header{SampleRate: u(8), NFFT: u(12), Hop: u(16), WinLength: u(20), Window: win}
	if v >= 2 {
		switch f := binary.LittleEndian.Uint16(b[32:]); f {
		case FramingCodeFull:
		case FramingCodeCenter:
			h.Center = true
		default:
			return &FormatError{32, fmt.Sprintf("unknown framing code %d (0 full, 1 center)", f)}
		}
		flags := binary.LittleEndian.Uint16(b[34:])
		if flags&^flagSymmetric != 0 {
			return &FormatError{34, fmt.Sprintf("unknown flags %#x (only bit 0, symmetric window, is defined)", flags)}
		}
		h.Symmetric = flags&flagSymmetric != 0
		if r := binary.LittleEndian.Uint32(b[36:]); r != 0 {
			return &FormatError{36, fmt.Sprintf("reserved field is %d, want 0", r)}
		}
		n := binary.LittleEndian.Uint64(b[40:])
		if n > math.MaxInt64 {
			return &FormatError{40, fmt.Sprintf("signal length %d exceeds 2^63 − 1", n)}
		}
		h.Length = int64(n)
	}
	if err := wav.CheckSampleRate(h.SampleRate); err != nil {
		return &FormatError{8, err.Error()}
	}
	if v >= 3 {
		if err := h.unmarshalMel(b); err != nil {
			return err
		}
		if err := h.Validate(); err != nil {
			return &FormatError{48, err.Error()}
		}
	}
	if err := h.Validate(); err != nil {
		return &FormatError{12, err.Error()}
	}
	if bins := u(28); bins != h.Bins() {
		if h.Mel != nil {
			return &FormatError{28, fmt.Sprintf("%d values per frame, but n_mels is %d", bins, h.Mel.NMels)}
		}
		return &FormatError{28, fmt.Sprintf("%d bins, but n_fft %d has %d", bins, h.NFFT, h.Bins())}
	}
	return nil
}

// headerSize returns the header length of version v, or 0 for a version this package cannot
// read.
func headerSize(v uint16) int {
	switch v {
	case 1:
		return HeaderSizeV1
	case 2:
		return HeaderSize
	case 3:
		return HeaderSizeMel
	}
	return 0
}

// HeaderMode says whether a stream carries its header.
type HeaderMode int

const (
	// WithHeader: the header first, then the frames (what rephase analyze writes).
	WithHeader HeaderMode = iota
	// Headerless: the frames alone; the parameters travel out of band (docs/frame-stream.md).
	Headerless
)

// Writer writes frames (and, WithHeader, the header first) to an io.Writer, buffered:
// call Flush at the end.
type Writer struct {
	w    *bufio.Writer
	bins int
	buf  []byte
}

// NewWriter writes h's header (WithHeader) and returns a writer of its frames.
func NewWriter(w io.Writer, h Header, mode HeaderMode) (*Writer, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	fw := &Writer{w: bufio.NewWriterSize(w, 64<<10), bins: h.Bins(), buf: make([]byte, 4*h.Bins())}
	if mode == WithHeader {
		b, _ := h.MarshalBinary()
		if _, err := fw.w.Write(b); err != nil {
			return nil, err
		}
	}
	return fw, nil
}

// WriteFrame writes one frame of Bins() magnitudes as float32. It does not allocate.
func (w *Writer) WriteFrame(mag []float64) error {
	if len(mag) != w.bins {
		return fmt.Errorf("frame stream: frame of %d bins, want %d", len(mag), w.bins)
	}
	for k, v := range mag {
		binary.LittleEndian.PutUint32(w.buf[4*k:], math.Float32bits(float32(v)))
	}
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes buffered frames through.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads frames from an io.Reader.
type Reader struct {
	r      *bufio.Reader
	h      Header
	buf    []byte
	offset int64
	frame  int
	maxV   float64 // Header.MaxValue
}

// NewReader reads the header from r (WithHeader), or, Headerless, takes h as the stream's
// parameters. It returns a *FormatError for a malformed header.
func NewReader(r io.Reader, h Header, mode HeaderMode) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	fr := &Reader{r: br}
	if mode == Headerless {
		if err := h.Validate(); err != nil {
			return nil, err
		}
		fr.h = h
	} else {
		b := make([]byte, HeaderSizeMel)
		n, err := io.ReadFull(br, b[:prefixSize])
		if err == nil && string(b[:4]) == Magic {
			if size := headerSize(binary.LittleEndian.Uint16(b[4:])); size > 0 {
				var m int
				m, err = io.ReadFull(br, b[prefixSize:size])
				n += m
			}
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if err := fr.h.UnmarshalBinary(b[:n]); err != nil {
			return nil, err
		}
		fr.offset = int64(n)
	}
	fr.buf = make([]byte, 4*fr.h.Bins())
	fr.maxV = fr.h.MaxValue()
	return fr, nil
}

// Header returns the stream's parameters.
func (r *Reader) Header() Header { return r.h }

// Frames returns the number of frames read so far.
func (r *Reader) Frames() int { return r.frame }

// ReadFrame reads the next frame into dst (Bins() values). It returns io.EOF at a clean end of
// stream, a *FormatError naming the frame and byte offset for a stream cut inside a frame or a
// value the header does not allow (NaN, infinite, negative except in a log-mel stream, or above
// Header.MaxValue), and
// the reader's own errors otherwise. It does not allocate.
func (r *Reader) ReadFrame(dst []float64) error {
	n, err := io.ReadFull(r.r, r.buf)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{r.offset + int64(n), fmt.Sprintf("stream ends inside frame %d (%d of %d bytes)", r.frame, n, len(r.buf))}
	}
	if err != nil {
		return err
	}
	for k := range dst[:len(r.buf)/4] {
		v := math.Float32frombits(binary.LittleEndian.Uint32(r.buf[4*k:]))
		if !r.h.validValue(float64(v), r.maxV) {
			if r.h.Mel != nil {
				return &FormatError{r.offset + int64(4*k), fmt.Sprintf("frame %d, mel band %d: value %v (want a finite value%s, at most %.6g: %g as a linear magnitude)", r.frame, k, v, map[bool]string{true: " ≥ 0", false: ""}[r.h.MelLoss.Log == retrieval.LogNone], r.maxV, retrieval.MaxMagnitude)}
			}
			return &FormatError{r.offset + int64(4*k), fmt.Sprintf("frame %d, bin %d: magnitude %v (want a finite value ≥ 0, at most %g)", r.frame, k, v, retrieval.MaxMagnitude)}
		}
		dst[k] = float64(v)
	}
	r.offset += int64(len(r.buf))
	r.frame++
	return nil
}
