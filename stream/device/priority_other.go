//go:build cgo && !linux

package device

import (
	"errors"
	"runtime"
)

// LockRealtime pins the calling goroutine to its OS thread; real-time scheduling is implemented
// on Linux only.
func LockRealtime(priority int) error {
	runtime.LockOSThread()
	return errors.New("device: real-time scheduling is implemented on Linux only")
}

// UnlockRealtime unpins the goroutine.
func UnlockRealtime() { runtime.UnlockOSThread() }
