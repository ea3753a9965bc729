//go:build cgo && linux

package device

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// LockRealtime pins the calling goroutine to its OS thread and asks the kernel for SCHED_FIFO
// at the given priority (1–99) for that thread, as audio workers do (JACK runs its clients'
// process threads the same way). It needs CAP_SYS_NICE or an rtprio limit; without them it leaves
// the normal policy and returns the error. Call UnlockRealtime from the same goroutine when done.
func LockRealtime(priority int) error {
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(priority)}
	return unix.SchedSetAttr(0, &attr, 0)
}

// UnlockRealtime returns the thread to SCHED_OTHER and unpins the goroutine.
func UnlockRealtime() {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 0} // SCHED_OTHER
	unix.SchedSetAttr(0, &attr, 0)
	runtime.UnlockOSThread()
}
