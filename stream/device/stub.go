//go:build !cgo

package device

import (
	"errors"
	"io"
	"time"

	"github.com/rephase/rephase/ringbuffer"
)

// This build has no cgo, hence no PortAudio: every function that would touch a device returns
// ErrNoCgo. The sources (Sine, Samples) work as usual.

// ErrNoCgo is returned by every device function of a build without cgo.
var ErrNoCgo = errors.New("device: built without cgo (CGO_ENABLED=0): no PortAudio, no audio devices")

// Device describes one PortAudio device.
type Device struct {
	Index                               int
	Name, HostAPI                       string
	MaxInputChannels, MaxOutputChannels int
	DefaultSampleRate                   float64
}

// Source produces input samples inside the callback when no input device is open.
type Source interface{ Fill(dst []float32) }

// Config describes a stream (see the cgo build).
type Config struct {
	Input, Output, HostAPI string
	SampleRate             float64
	FramesPerBuffer        int
	OutputChannels         int
	RingSize               int
	Source                 Source
}

// Stats are the stream's counters (see the cgo build).
type Stats struct {
	Callbacks, FramesIn, FramesOut, InputDropped, Xruns, XrunFrames, FirstXrunFrame uint64
	PAInputUnderflow, PAInputOverflow, PAOutputUnderflow, PAOutputOverflow          uint64
	CPULoad                                                                         float64
}

// Stream is never opened in this build.
type Stream struct{}

func Init() error                                              { return ErrNoCgo }
func Terminate() error                                         { return nil }
func List() ([]Device, error)                                  { return nil, ErrNoCgo }
func FormatList(w io.Writer, ds []Device)                      {}
func Find(spec, hostAPI string, dir Direction) (Device, error) { return Device{}, ErrNoCgo }
func Open(cfg Config) (*Stream, error)                         { return nil, ErrNoCgo }
func LockRealtime(priority int) error                          { return ErrNoCgo }
func UnlockRealtime()                                          {}
func (s *Stream) Start() error                                 { return ErrNoCgo }
func (s *Stream) Prime()                                       {}
func (s *Stream) EndOfStream()                                 {}
func (s *Stream) Stop() error                                  { return nil }
func (s *Stream) Close() error                                 { return nil }
func (s *Stream) Input() *ringbuffer.Consumer                  { return nil }
func (s *Stream) Output() *ringbuffer.Producer                 { return nil }
func (s *Stream) SampleRate() float64                          { return 0 }
func (s *Stream) FramesPerBuffer() int                         { return 0 }
func (s *Stream) Description() string                          { return "" }
func (s *Stream) HasOutput() bool                              { return false }
func (s *Stream) DeviceLatency() (in, out time.Duration)       { return 0, 0 }
func (s *Stream) Stats() Stats                                 { return Stats{} }
