package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"syscall"

	"github.com/mewkiz/flac"

	"github.com/rephase/rephase/stream/wav"
)

// Audio inputs (issue 17, items 2 and 4): a WAV file, "-" for a WAV or FLAC stream on standard
// input, or a FLAC file. Standard input is copied to an unlinked temporary file first (wav.Spool)
// and FLAC is decoded to one (32-bit float WAV: exact for FLAC's 4…24-bit samples), so that
// every input is a wav.Reader that can be checked whole before any output is written and read
// a second time (stream --realtime reads its input again as the reference), with memory flat in
// its length. Standard input can be read once: a second open of "-" reads the same copy.

// spooled holds the temporary copies by input name ("-" or a FLAC path), each opened again by
// duplicating its descriptor.
var spooled struct {
	sync.Mutex
	files map[string]*os.File
}

// flacMagic starts every FLAC stream.
var flacMagic = []byte("fLaC")

// openAudio opens the input in (see above) as a wav.Reader. Errors name the input ("-" is
// "standard input").
func openAudio(in string) (*wav.Reader, error) {
	if in != "-" && !isFLACFile(in) {
		return wav.Open(in)
	}
	spooled.Lock()
	defer spooled.Unlock()
	name := in
	if in == "-" {
		name = "standard input"
	}
	f := spooled.files[in]
	if f == nil {
		var err error
		if f, err = spoolAudio(in, name); err != nil {
			return nil, err
		}
		if spooled.files == nil {
			spooled.files = map[string]*os.File{}
		}
		spooled.files[in] = f
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return wav.OpenPiped(os.NewFile(uintptr(fd), f.Name()), name)
}

// isFLACFile reports whether path is a file that starts with the FLAC signature.
func isFLACFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && bytes.Equal(b[:], flacMagic)
}

// spoolAudio copies in ("-": standard input) to an unlinked temporary file, a WAV, decoding FLAC.
func spoolAudio(in, name string) (*os.File, error) {
	var f *os.File
	if in == "-" {
		var err error
		if f, _, err = wav.Spool(os.Stdin); err != nil {
			return nil, err
		}
		var b [4]byte
		if _, err := f.ReadAt(b[:], 0); err != nil || !bytes.Equal(b[:], flacMagic) {
			return f, nil // a WAV (or garbage, refused by the WAV parser with its offset)
		}
	} else {
		var err error
		if f, err = os.Open(in); err != nil {
			return nil, err
		}
	}
	defer f.Close()
	return decodeFLAC(f, name)
}

// decodeFLAC decodes the FLAC stream r to an unlinked temporary 32-bit float WAV file, one
// FLAC frame at a time.
func decodeFLAC(r io.Reader, name string) (*os.File, error) {
	s, err := flac.New(r)
	if err != nil {
		return nil, fmt.Errorf("%s: FLAC: %w", name, err)
	}
	defer s.Close()
	info := s.Info
	if err := wav.CheckSampleRate(int(info.SampleRate)); err != nil {
		return nil, fmt.Errorf("%s: FLAC: %w", name, err)
	}
	tmp, err := os.CreateTemp("", "rephase-flac-*.wav")
	if err != nil {
		return nil, err
	}
	path := tmp.Name()
	tmp.Close()
	defer os.Remove(path)
	w, err := wav.NewWriter(path, int(info.SampleRate), int(info.NChannels), wav.Float32)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	block := make([][]float64, info.NChannels)
	scale := 1 / math.Ldexp(1, int(info.BitsPerSample)-1) // integer samples to [−1, 1), as WAV's
	var frames int64
	for {
		fr, err := s.ParseNext()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: FLAC frame %d: %w", name, frames, err)
		}
		for c, sub := range fr.Subframes {
			block[c] = block[c][:0]
			for _, v := range sub.Samples {
				block[c] = append(block[c], float64(v)*scale)
			}
		}
		if err := w.Write(block); err != nil {
			return nil, err
		}
		frames++
	}
	if err := w.Commit(); err != nil {
		return nil, err
	}
	return os.Open(path) // removed by the deferred os.Remove: open until closed
}

// readAll reads the rest of r into memory.
func readAll(r *wav.Reader) (*wav.Audio, error) {
	a := &wav.Audio{SampleRate: r.SampleRate(), Channels: make([][]float64, r.Channels())}
	n := int(r.Len() - r.Pos())
	for c := range a.Channels {
		a.Channels[c] = make([]float64, n)
	}
	block := make([][]float64, len(a.Channels))
	for got := 0; got < n; {
		for c := range block {
			block[c] = a.Channels[c][got:n]
		}
		m, err := r.Read(block)
		if err != nil {
			return nil, inputError{err}
		}
		got += m
	}
	return a, nil
}
