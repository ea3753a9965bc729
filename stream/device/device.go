//go:build cgo

// Package device connects the streaming engine to audio hardware through PortAudio
// (github.com/gordonklaus/portaudio, Debian's portaudio19-dev). It is the only package of rephase
// besides the FFT backend that needs cgo, so the numerical packages never do.
//
// The PortAudio callback only copies: input samples (channel 0, or a Source's samples when no
// input device is open) into a ringbuffer ring, and output samples from a second ring to every
// output channel, then bumps atomic counters. It never allocates, locks, blocks, logs or keeps
// PortAudio's slices. An output ring that runs dry is an xrun: the callback plays silence for the
// missing samples and counts them. The worker goroutine on the other side of the rings does the
// analysis, effects, phase reconstruction and synthesis.
package device

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"

	"github.com/rephase/rephase/ringbuffer"
)

var (
	initMu    sync.Mutex
	initCount int
)

// Init initialises PortAudio (reference-counted: pair every Init with a Terminate).
func Init() error {
	initMu.Lock()
	defer initMu.Unlock()
	if initCount == 0 {
		if err := portaudio.Initialize(); err != nil {
			return fmt.Errorf("device: PortAudio: %w", err)
		}
	}
	initCount++
	return nil
}

// Terminate releases PortAudio after the last Init.
func Terminate() error {
	initMu.Lock()
	defer initMu.Unlock()
	if initCount == 0 {
		return nil
	}
	initCount--
	if initCount == 0 {
		return portaudio.Terminate()
	}
	return nil
}

// Device describes one PortAudio device.
type Device struct {
	Index             int // PortAudio's global device index
	Name, HostAPI     string
	MaxInputChannels  int
	MaxOutputChannels int
	DefaultSampleRate float64 // Hz
	info              *portaudio.DeviceInfo
}

// List returns every device of every host API. Init first.
func List() ([]Device, error) {
	ds, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("device: listing devices: %w", err)
	}
	out := make([]Device, len(ds))
	for i, d := range ds {
		out[i] = Device{Index: i, Name: d.Name, HostAPI: d.HostApi.Name, MaxInputChannels: d.MaxInputChannels,
			MaxOutputChannels: d.MaxOutputChannels, DefaultSampleRate: d.DefaultSampleRate, info: d}
	}
	return out, nil
}

// FormatList writes a table of the devices to w.
func FormatList(w io.Writer, ds []Device) {
	fmt.Fprintf(w, "%5s  %-32s %-28s %4s %4s %9s\n", "index", "name", "host API", "in", "out", "rate Hz")
	for _, d := range ds {
		fmt.Fprintf(w, "%5d  %-32s %-28s %4d %4d %9.0f\n", d.Index, d.Name, d.HostAPI, d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate)
	}
}

// Find selects a device by spec: "default" (the default device of the host API, or of
// PortAudio's default host API), a device index, or a case-insensitive name (an exact match wins
// over a substring match). hostAPI, if not empty, restricts the search to the host API with that
// index or whose name contains it ("jack", "alsa"). dir selects input or output devices. The
// error for a device that does not exist lists the devices that do.
func Find(spec, hostAPI string, dir Direction) (Device, error) {
	output := dir == Output
	ds, err := List()
	if err != nil {
		return Device{}, err
	}
	if i, err := strconv.Atoi(strings.TrimSpace(hostAPI)); err == nil {
		apis, err := portaudio.HostApis()
		if err != nil || i < 0 || i >= len(apis) {
			return Device{}, fmt.Errorf("device: no host API with index %d (%d host APIs)", i, len(apis))
		}
		hostAPI = apis[i].Name
	}
	usable := func(d Device) bool {
		if hostAPI != "" && !strings.Contains(strings.ToLower(d.HostAPI), strings.ToLower(hostAPI)) {
			return false
		}
		if output {
			return d.MaxOutputChannels > 0
		}
		return d.MaxInputChannels > 0
	}
	fail := func(why string) (Device, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "device: %s; the devices are:\n", why)
		FormatList(&b, ds)
		return Device{}, errors.New(strings.TrimRight(b.String(), "\n"))
	}
	switch s := strings.TrimSpace(spec); {
	case s == "" || strings.EqualFold(s, "default"):
		var want *portaudio.DeviceInfo
		if hostAPI == "" {
			if output {
				want, err = portaudio.DefaultOutputDevice()
			} else {
				want, err = portaudio.DefaultInputDevice()
			}
		} else {
			apis, e := portaudio.HostApis()
			err = e
			for _, a := range apis {
				if strings.Contains(strings.ToLower(a.Name), strings.ToLower(hostAPI)) {
					if output {
						want = a.DefaultOutputDevice
					} else {
						want = a.DefaultInputDevice
					}
					break
				}
			}
		}
		for _, d := range ds {
			if want != nil && d.info == want && usable(d) {
				return d, nil
			}
		}
		return fail(fmt.Sprintf("no default %s device (host API %q, %v)", dir, hostAPI, err))
	default:
		if i, err := strconv.Atoi(s); err == nil {
			if i < 0 || i >= len(ds) || !usable(ds[i]) {
				return fail(fmt.Sprintf("no %s device with index %d (host API %q)", dir, i, hostAPI))
			}
			return ds[i], nil
		}
		var sub []Device
		for _, d := range ds {
			if !usable(d) {
				continue
			}
			if strings.EqualFold(d.Name, s) {
				return d, nil
			}
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(s)) {
				sub = append(sub, d)
			}
		}
		if len(sub) == 1 {
			return sub[0], nil
		}
		if len(sub) > 1 {
			return fail(fmt.Sprintf("%q matches %d %s devices; give the index", s, len(sub), dir))
		}
		return fail(fmt.Sprintf("no %s device named %q (host API %q)", dir, s, hostAPI))
	}
}

// Source produces input samples inside the callback when no input device is open (a synthetic
// signal or a file played "as if from a microphone", paced by the output device's clock). Fill
// must not allocate, block or lock.
type Source interface {
	Fill(dst []float32)
}

// Config describes a stream. The zero value of each field means its default.
type Config struct {
	// Input and Output are device specs for Find; an empty Input means no input device (Source,
	// if set, feeds the input ring instead); an empty Output means no output device.
	Input, Output string
	// HostAPI restricts device selection (e.g. "jack", "alsa"); empty: any.
	HostAPI string
	// SampleRate in Hz; 0 means the output (else input) device's default.
	SampleRate float64
	// FramesPerBuffer is the callback block size in frames; 0 means 256.
	FramesPerBuffer int
	// OutputChannels; 0 means min(2, the device's maximum). Mono output is copied to each.
	OutputChannels int
	// RingSize is the capacity of each ring in samples (rounded up to a power of two); 0 means
	// 1<<16.
	RingSize int
	// Source feeds the input ring when Input is empty.
	Source Source
}

// Stats are the stream's counters, safe to read while it runs.
type Stats struct {
	Callbacks uint64 // callback invocations
	FramesIn  uint64 // samples put into the input ring (device or Source)
	FramesOut uint64 // frames delivered to the output device
	// InputDropped: input samples lost because the input ring was full (the worker fell behind).
	InputDropped uint64
	// Xruns: callbacks, after Prime, whose output ring could not supply the whole buffer;
	// XrunFrames: the frames of silence played instead.
	Xruns, XrunFrames uint64
	// FirstXrunFrame is the output frame (since Start) at which the first xrun began (0: none).
	FirstXrunFrame uint64
	// PortAudio's status flags, counted per callback that reported them.
	PAInputUnderflow, PAInputOverflow, PAOutputUnderflow, PAOutputOverflow uint64
	// CPULoad is PortAudio's estimate of the callback's share of its time budget (0…1).
	CPULoad float64
}

// Stream is an open PortAudio stream with its two rings: the worker reads mono input samples
// from Input() and writes mono output samples to Output().
type Stream struct {
	pa             *portaudio.Stream
	inDev, outDev  *Device
	rate           float64
	frames         int
	inCh, outCh    int
	inP            *ringbuffer.Producer
	inC            *ringbuffer.Consumer
	outP           *ringbuffer.Producer
	outC           *ringbuffer.Consumer
	src            Source
	scratch        []float32
	primed         atomic.Bool
	callbacks      atomic.Uint64
	framesIn       atomic.Uint64
	framesOut      atomic.Uint64
	inDropped      atomic.Uint64
	xruns          atomic.Uint64
	xrunFrames     atomic.Uint64
	firstXrun      atomic.Uint64
	paInUnder      atomic.Uint64
	paInOver       atomic.Uint64
	paOutUnder     atomic.Uint64
	paOutOver      atomic.Uint64
	started, ended bool
}

// Open opens (but does not start) a stream. Init first. Errors name the device and list the
// devices that exist when one cannot be found.
func Open(cfg Config) (*Stream, error) {
	s := &Stream{src: cfg.Source, frames: cfg.FramesPerBuffer}
	if s.frames == 0 {
		s.frames = 256
	}
	if cfg.Input == "" && cfg.Output == "" {
		return nil, errors.New("device: neither an input nor an output device")
	}
	var p portaudio.StreamParameters
	if cfg.Input != "" {
		d, err := Find(cfg.Input, cfg.HostAPI, Input)
		if err != nil {
			return nil, err
		}
		s.inDev, s.inCh = &d, 1
		p.Input = portaudio.StreamDeviceParameters{Device: d.info, Channels: 1, Latency: d.info.DefaultLowInputLatency}
		s.rate = d.DefaultSampleRate
	}
	if cfg.Output != "" {
		d, err := Find(cfg.Output, cfg.HostAPI, Output)
		if err != nil {
			return nil, err
		}
		s.outDev = &d
		s.outCh = cfg.OutputChannels
		if s.outCh == 0 {
			s.outCh = min(2, d.MaxOutputChannels)
		}
		if s.outCh > d.MaxOutputChannels {
			return nil, fmt.Errorf("device: %q has %d output channels, %d asked", d.Name, d.MaxOutputChannels, s.outCh)
		}
		p.Output = portaudio.StreamDeviceParameters{Device: d.info, Channels: s.outCh, Latency: d.info.DefaultLowOutputLatency}
		s.rate = d.DefaultSampleRate
	}
	if cfg.SampleRate > 0 {
		s.rate = cfg.SampleRate
	}
	p.SampleRate = s.rate
	p.FramesPerBuffer = s.frames
	ring := cfg.RingSize
	if ring == 0 {
		ring = 1 << 16
	}
	s.inP, s.inC = ringbuffer.New(ring)
	s.outP, s.outC = ringbuffer.New(ring)
	s.scratch = make([]float32, 1<<16)
	pa, err := portaudio.OpenStream(p, s.callback)
	if err != nil {
		var b strings.Builder
		if ds, e := List(); e == nil {
			FormatList(&b, ds)
		}
		return nil, fmt.Errorf("device: opening %s at %.0f Hz, %d frames per buffer: %w; the devices are:\n%s",
			s.describe(), s.rate, s.frames, err, strings.TrimRight(b.String(), "\n"))
	}
	s.pa = pa
	return s, nil
}

func (s *Stream) describe() string {
	var parts []string
	if s.inDev != nil {
		parts = append(parts, fmt.Sprintf("input %q (%s)", s.inDev.Name, s.inDev.HostAPI))
	}
	if s.outDev != nil {
		parts = append(parts, fmt.Sprintf("output %q (%s)", s.outDev.Name, s.outDev.HostAPI))
	}
	return strings.Join(parts, " and ")
}

// callback is PortAudio's: copy in, copy out, count. Interleaved float32 buffers; in is nil
// without an input device, out without an output device.
func (s *Stream) callback(in, out []float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	s.callbacks.Add(1)
	if flags&portaudio.InputUnderflow != 0 {
		s.paInUnder.Add(1)
	}
	if flags&portaudio.InputOverflow != 0 {
		s.paInOver.Add(1)
	}
	if flags&portaudio.OutputUnderflow != 0 {
		s.paOutUnder.Add(1)
	}
	if flags&portaudio.OutputOverflow != 0 {
		s.paOutOver.Add(1)
	}
	var frames int
	switch {
	case out != nil:
		frames = len(out) / s.outCh
	case in != nil:
		frames = len(in) / s.inCh
	}
	mono := s.scratch[:min(frames, len(s.scratch))]
	if in != nil || s.src != nil {
		if in != nil {
			for i := range mono {
				mono[i] = in[i*s.inCh]
			}
		} else {
			s.src.Fill(mono)
		}
		if n := s.inP.Write(mono); n < len(mono) {
			s.inDropped.Add(uint64(len(mono) - n))
		}
		s.framesIn.Add(uint64(len(mono)))
	}
	if out != nil {
		n := s.outC.Read(mono)
		if n < len(mono) {
			clear(mono[n:])
			if s.primed.Load() {
				if s.xruns.Add(1) == 1 {
					s.firstXrun.Store(s.framesOut.Load() + uint64(n))
				}
				s.xrunFrames.Add(uint64(len(mono) - n))
			}
		}
		for i, v := range mono {
			for c := 0; c < s.outCh; c++ {
				out[i*s.outCh+c] = v
			}
		}
		clear(out[len(mono)*s.outCh:])
		s.framesOut.Add(uint64(len(mono)))
	}
}

// Start starts the stream.
func (s *Stream) Start() error {
	if err := s.pa.Start(); err != nil {
		return fmt.Errorf("device: starting %s: %w", s.describe(), err)
	}
	s.started = true
	return nil
}

// Prime tells the stream that the worker has filled the output ring with its first block:
// from now on an output ring that runs dry counts as an xrun.
func (s *Stream) Prime() { s.primed.Store(true) }

// EndOfStream tells the stream that the worker has written its last output sample: the ring
// running dry from now on is the end of the signal, not an xrun.
func (s *Stream) EndOfStream() { s.primed.Store(false) }

// Stop stops the stream after the pending buffers have played; the callback is not called
// afterwards. Idempotent.
func (s *Stream) Stop() error {
	if !s.started || s.ended {
		return nil
	}
	s.ended = true
	s.primed.Store(false)
	if err := s.pa.Stop(); err != nil {
		return fmt.Errorf("device: stopping %s: %w", s.describe(), err)
	}
	return nil
}

// Close stops the stream if needed and closes it.
func (s *Stream) Close() error {
	err := s.Stop()
	if e := s.pa.Close(); err == nil && e != nil {
		err = fmt.Errorf("device: closing %s: %w", s.describe(), e)
	}
	return err
}

// Input returns the consumer side of the input ring (mono samples), for the worker.
func (s *Stream) Input() *ringbuffer.Consumer { return s.inC }

// Output returns the producer side of the output ring (mono samples), for the worker.
func (s *Stream) Output() *ringbuffer.Producer { return s.outP }

// SampleRate returns the stream's sample rate in Hz.
func (s *Stream) SampleRate() float64 { return s.rate }

// FramesPerBuffer returns the callback block size.
func (s *Stream) FramesPerBuffer() int { return s.frames }

// HasOutput reports whether the stream has an output device (else nothing drains Output()).
func (s *Stream) HasOutput() bool { return s.outDev != nil }

// Description names the devices.
func (s *Stream) Description() string { return s.describe() }

// DeviceLatency returns PortAudio's estimate of the input and output latency of the devices
// themselves (outside the rings): from the ADC to the input callback and from the output
// callback to the DAC.
func (s *Stream) DeviceLatency() (in, out time.Duration) {
	info := s.pa.Info()
	return info.InputLatency, info.OutputLatency
}

// Stats returns the counters.
func (s *Stream) Stats() Stats {
	return Stats{Callbacks: s.callbacks.Load(), FramesIn: s.framesIn.Load(), FramesOut: s.framesOut.Load(),
		InputDropped: s.inDropped.Load(), Xruns: s.xruns.Load(), XrunFrames: s.xrunFrames.Load(), FirstXrunFrame: s.firstXrun.Load(),
		PAInputUnderflow: s.paInUnder.Load(), PAInputOverflow: s.paInOver.Load(),
		PAOutputUnderflow: s.paOutUnder.Load(), PAOutputOverflow: s.paOutOver.Load(), CPULoad: s.pa.CpuLoad()}
}
