//go:build unix

package device

import (
	"os"

	"golang.org/x/sys/unix"
)

// Silenced runs f with the process's file descriptor 2 (standard error, shared by C libraries and
// Go's os.Stderr) pointing to /dev/null, and restores it afterwards, also when f panics. It hides
// what ALSA and JACK print while PortAudio probes the host APIs (about 60 lines when no sound
// card or audio server is present); errors still reach the caller through f's return value.
//
// Not safe for concurrent use with itself; anything another goroutine or thread writes to
// standard error while f runs is lost. If fd 2 cannot be saved or redirected, f runs unsilenced.
func Silenced(f func() error) error {
	saved, err := unix.Dup(2)
	if err != nil {
		return f()
	}
	defer unix.Close(saved)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return f()
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), 2); err != nil {
		return f()
	}
	defer unix.Dup2(saved, 2)
	return f()
}
