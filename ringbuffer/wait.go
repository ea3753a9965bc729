package ringbuffer

import (
	"runtime"
	"sync/atomic"
	"time"
)

// parking lets a blocking helper (WriteAll, ReadFull) sleep until the other side commits. Only the
// other side's blocking helper signals it — with a non-blocking send, after its commit — so the
// real-time methods (Write, Read, the regions) never touch a channel; when the other side is a
// real-time callback the sleeper wakes on its timer instead and re-checks (polling with back-off).
type parking struct {
	waiting atomic.Bool
	wake    chan struct{} // capacity 1
}

func newParking() parking { return parking{wake: make(chan struct{}, 1)} }

// signal wakes a parked waiter, if any. Called by blocking helpers only.
func (pk *parking) signal() {
	if pk.waiting.Load() {
		select {
		case pk.wake <- struct{}{}:
		default:
		}
	}
}

// waiter is the back-off of one blocking call: yield the processor a few times (the other side is
// usually about to commit), then park for doubling intervals from minPark up to maxPark, woken
// early by a signal.
type waiter struct {
	n     int
	timer *time.Timer
}

const (
	spinYields = 16
	minPark    = 50 * time.Microsecond
	maxPark    = time.Millisecond
)

func (w *waiter) reset() { w.n = 0 }

// wait blocks briefly. ready is re-checked after announcing the wait, so that a commit racing
// with the announcement is not missed.
func (w *waiter) wait(pk *parking, ready func() bool) {
	w.n++
	if w.n <= spinYields {
		runtime.Gosched()
		return
	}
	pk.waiting.Store(true)
	defer pk.waiting.Store(false)
	if ready() {
		return
	}
	d := min(minPark<<min(w.n-spinYields-1, 5), maxPark)
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-pk.wake:
		w.timer.Stop()
	case <-w.timer.C:
	}
}
