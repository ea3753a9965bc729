// Package ringbuffer is a lock-free, wait-free single-producer / single-consumer ring of float32
// samples: the only thing an audio callback touches in rephase. The callback copies samples into
// or out of the ring and returns; the worker goroutine on the other side does all analysis and
// optimisation.
//
// New returns two handles. Exactly one goroutine may use the Producer and exactly one the
// Consumer (they may be the same goroutine); the counters and Closed methods may be read from any
// goroutine. The real-time side never blocks, locks, allocates or makes a system call:
// Write, Read, the region methods, Free and Available are a handful of atomic loads and stores
// plus copy. Blocking helpers (WriteAll, ReadFull) exist for non-real-time callers such as file
// readers and tests; they yield, then park with a timed back-off (woken early when the other side
// is also a blocking helper), and never make the other side wait.
//
// Design (after rtrb, PortAudio's pa_ringbuffer and JUCE's AbstractFifo): the capacity is a power
// of two; the write and read positions increase monotonically (uint64, never wrapping in
// practice) and are reduced modulo the capacity only to index; each position lives on its own
// cache line; each side caches the other side's position and re-reads it atomically only when the
// ring looks full (producer) or empty (consumer). Bulk access comes as two regions (the second
// non-empty only on wrap-around) and an explicit commit.
package ringbuffer

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
)

// ErrClosed is returned by the Producer's blocking helper when the Consumer has abandoned the
// ring.
var ErrClosed = errors.New("ringbuffer: consumer closed the ring")

const cacheLine = 64

// ring is the shared state. Write and read positions sit on separate cache lines so that the two
// sides do not false-share.
type ring struct {
	_     [cacheLine]byte
	write atomic.Uint64 // next position the producer writes; stored only by the producer
	_     [cacheLine - 8]byte
	read  atomic.Uint64 // next position the consumer reads; stored only by the consumer
	_     [cacheLine - 8]byte

	producerClosed atomic.Bool
	consumerClosed atomic.Bool
	overflows      atomic.Uint64
	underflows     atomic.Uint64

	buf  []float32
	mask uint64

	dataReady  parking // a ReadFull waiting for samples
	spaceReady parking // a WriteAll waiting for room
}

// Producer is the writing handle. Use it from one goroutine only.
type Producer struct {
	_          [cacheLine]byte
	r          *ring
	w          waiter
	write      uint64 // own position (the atomic is only ever stored from here)
	cachedRead uint64 // last read position seen; re-read when the ring looks full
	_          [cacheLine]byte
}

// Consumer is the reading handle. Use it from one goroutine only.
type Consumer struct {
	_           [cacheLine]byte
	r           *ring
	w           waiter
	read        uint64
	cachedWrite uint64 // last write position seen; re-read when the ring looks empty
	_           [cacheLine]byte
}

// MaxCapacity is the largest capacity New accepts: 2^40 samples where int has 64 bits, 2^30 on
// 32-bit targets (the largest power of two an int holds with room to round up to it).
const MaxCapacity = min(1<<40, math.MaxInt>>1+1)

// New allocates a ring holding at least capacity samples (rounded up to a power of two) and
// returns its two handles. It panics if capacity < 1 or is larger than MaxCapacity.
func New(capacity int) (*Producer, *Consumer) {
	if capacity < 1 || capacity > MaxCapacity {
		panic(fmt.Sprintf("ringbuffer: capacity %d out of range [1, %d]", capacity, MaxCapacity))
	}
	size := 1
	for size < capacity {
		size <<= 1
	}
	r := &ring{buf: make([]float32, size), mask: uint64(size - 1), dataReady: newParking(), spaceReady: newParking()}
	return &Producer{r: r}, &Consumer{r: r}
}

// Cap returns the ring's capacity in samples (a power of two).
func (p *Producer) Cap() int { return len(p.r.buf) }

// Cap returns the ring's capacity in samples (a power of two).
func (c *Consumer) Cap() int { return len(c.r.buf) }

// Free returns how many samples can be written now. It re-reads the consumer's position.
func (p *Producer) Free() int {
	p.cachedRead = p.r.read.Load()
	return len(p.r.buf) - int(p.write-p.cachedRead)
}

// free returns the free space, re-reading the consumer's position only if the cached one shows
// less than want.
func (p *Producer) free(want int) int {
	f := len(p.r.buf) - int(p.write-p.cachedRead)
	if f < want {
		p.cachedRead = p.r.read.Load()
		f = len(p.r.buf) - int(p.write-p.cachedRead)
	}
	return f
}

// WriteRegions returns up to n writable samples as two slices of the ring's storage: fill first,
// then second (non-empty only when the free space wraps around the end), then call CommitWrite
// with the number of samples written, which must not exceed len(first)+len(second). Nothing is
// visible to the consumer before the commit. The slices are valid until the commit; do not keep
// them. It never blocks or allocates.
func (p *Producer) WriteRegions(n int) (first, second []float32) {
	n = min(n, p.free(n))
	if n <= 0 {
		return nil, nil
	}
	return regions(p.r.buf, p.r.mask, p.write, n)
}

func regions(buf []float32, mask, pos uint64, n int) (first, second []float32) {
	start := int(pos & mask)
	if end := start + n; end <= len(buf) {
		return buf[start:end:end], nil
	}
	return buf[start:], buf[:start+n-len(buf)]
}

// CommitWrite publishes n samples written into the regions of the last WriteRegions. It panics
// if n is negative or more than the free space.
func (p *Producer) CommitWrite(n int) {
	if n < 0 || n > len(p.r.buf)-int(p.write-p.cachedRead) {
		panic(fmt.Sprintf("ringbuffer: CommitWrite(%d) with %d samples free", n, len(p.r.buf)-int(p.write-p.cachedRead)))
	}
	p.write += uint64(n)
	p.r.write.Store(p.write)
}

// Write copies as many samples of s as fit and returns that number. If not all of s fits, it
// counts one overflow event. It never blocks or allocates: safe in an audio callback.
func (p *Producer) Write(s []float32) int {
	a, b := p.WriteRegions(len(s))
	n := copy(a, s)
	n += copy(b, s[n:])
	if n > 0 {
		p.CommitWrite(n)
	}
	if n < len(s) {
		p.r.overflows.Add(1)
	}
	return n
}

// WriteAll writes all of s, waiting (polling with back-off) while the ring is full. It returns
// ErrClosed, with the number of samples written, if the consumer closes the ring first. For
// non-real-time producers only (file readers, tests); it does not count overflows.
func (p *Producer) WriteAll(s []float32) (int, error) {
	w := &p.w
	w.reset()
	done := 0
	for done < len(s) {
		if p.r.consumerClosed.Load() {
			return done, ErrClosed
		}
		a, b := p.WriteRegions(len(s) - done)
		n := copy(a, s[done:])
		n += copy(b, s[done+n:])
		if n > 0 {
			p.CommitWrite(n)
			p.r.dataReady.signal()
			done += n
			w.reset()
			continue
		}
		w.wait(&p.r.spaceReady, func() bool { return p.Free() > 0 || p.r.consumerClosed.Load() })
	}
	return done, nil
}

// Close marks the end of the stream: once the consumer has read what is left, Consumer.Drained
// reports true and ReadFull returns done. Close is idempotent; it wakes a consumer parked in
// ReadFull with a non-blocking channel send, so call it from a non-real-time goroutine (a
// callback that ends the stream should set its own flag instead). Do not write after Close.
func (p *Producer) Close() {
	p.r.producerClosed.Store(true)
	p.r.dataReady.signal()
}

// ConsumerClosed reports whether the consumer has abandoned the ring.
func (p *Producer) ConsumerClosed() bool { return p.r.consumerClosed.Load() }

// Overflows returns how many Write calls found too little room (safe from any goroutine).
func (p *Producer) Overflows() uint64 { return p.r.overflows.Load() }

// Underflows returns how many Read calls found too few samples (safe from any goroutine).
func (p *Producer) Underflows() uint64 { return p.r.underflows.Load() }

// Available returns how many samples can be read now. It re-reads the producer's position.
func (c *Consumer) Available() int {
	c.cachedWrite = c.r.write.Load()
	return int(c.cachedWrite - c.read)
}

func (c *Consumer) available(want int) int {
	a := int(c.cachedWrite - c.read)
	if a < want {
		c.cachedWrite = c.r.write.Load()
		a = int(c.cachedWrite - c.read)
	}
	return a
}

// ReadRegions returns up to n readable samples as two slices of the ring's storage, in order
// (second non-empty only on wrap-around); after using them call CommitRead with the number
// consumed, which frees that space for the producer. The slices are valid until the commit; do not
// keep them. It never blocks or allocates.
func (c *Consumer) ReadRegions(n int) (first, second []float32) {
	n = min(n, c.available(n))
	if n <= 0 {
		return nil, nil
	}
	return regions(c.r.buf, c.r.mask, c.read, n)
}

// CommitRead releases n samples returned by the last ReadRegions. It panics if n is negative or
// more than is available.
func (c *Consumer) CommitRead(n int) {
	if n < 0 || n > int(c.cachedWrite-c.read) {
		panic(fmt.Sprintf("ringbuffer: CommitRead(%d) with %d samples available", n, int(c.cachedWrite-c.read)))
	}
	c.read += uint64(n)
	c.r.read.Store(c.read)
}

// Read copies up to len(s) samples into s and returns the number copied. If fewer than len(s)
// were available it counts one underflow event (an xrun when the consumer is an output callback);
// the rest of s is left untouched, so a callback should fill it with silence. It never blocks or
// allocates: safe in an audio callback.
func (c *Consumer) Read(s []float32) int {
	a, b := c.ReadRegions(len(s))
	n := copy(s, a)
	n += copy(s[n:], b)
	if n > 0 {
		c.CommitRead(n)
	}
	if n < len(s) {
		c.r.underflows.Add(1)
	}
	return n
}

// ReadFull fills s, waiting (polling with back-off) while the ring is empty. If the producer
// closes the ring and it runs dry first, ReadFull returns the number read with done = true
// ("producer finished"). For non-real-time consumers only; it does not count underflows.
func (c *Consumer) ReadFull(s []float32) (n int, done bool) {
	w := &c.w
	w.reset()
	for n < len(s) {
		// Load the closed flag before the position: if it was set, every sample written
		// before Close is visible to the read that follows.
		closed := c.r.producerClosed.Load()
		a, b := c.ReadRegions(len(s) - n)
		k := copy(s[n:], a)
		k += copy(s[n+k:], b)
		if k > 0 {
			c.CommitRead(k)
			c.r.spaceReady.signal()
			n += k
			w.reset()
			continue
		}
		if closed {
			return n, true
		}
		w.wait(&c.r.dataReady, func() bool { return c.Available() > 0 || c.r.producerClosed.Load() })
	}
	return n, false
}

// Drained reports whether the producer has closed the ring and every sample has been read:
// "finished", as opposed to "empty for now".
func (c *Consumer) Drained() bool {
	return c.r.producerClosed.Load() && c.Available() == 0
}

// ProducerClosed reports whether the producer has called Close (samples may remain to be read).
func (c *Consumer) ProducerClosed() bool { return c.r.producerClosed.Load() }

// Close abandons the ring from the consumer side: the producer's WriteAll returns ErrClosed.
// Idempotent; like Producer.Close it wakes a parked WriteAll, so call it from a non-real-time
// goroutine.
func (c *Consumer) Close() {
	c.r.consumerClosed.Store(true)
	c.r.spaceReady.signal()
}

// Overflows returns how many Write calls found too little room (safe from any goroutine).
func (c *Consumer) Overflows() uint64 { return c.r.overflows.Load() }

// Underflows returns how many Read calls found too few samples (safe from any goroutine).
func (c *Consumer) Underflows() uint64 { return c.r.underflows.Load() }
