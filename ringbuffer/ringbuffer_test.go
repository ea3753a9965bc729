package ringbuffer

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestCapacityRoundsUp(t *testing.T) {
	for _, c := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 4}, {1000, 1024}, {1024, 1024}} {
		p, cons := New(c.in)
		if p.Cap() != c.want || cons.Cap() != c.want || p.Free() != c.want || cons.Available() != 0 {
			t.Errorf("New(%d): cap %d, free %d, want %d", c.in, p.Cap(), p.Free(), c.want)
		}
	}
	// MaxCapacity+1 must panic before allocating (on 32-bit targets rounding it up would overflow
	// int; issue 14: the bound was a constant 1<<40 that did not compile there).
	for _, bad := range []int{0, -1, MaxCapacity + 1, math.MaxInt} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", bad)
				}
			}()
			New(bad)
		}()
	}
}

func TestWrapAroundRegionsAndCounters(t *testing.T) {
	p, c := New(8)
	if n := p.Write([]float32{1, 2, 3, 4, 5, 6}); n != 6 {
		t.Fatalf("wrote %d", n)
	}
	out := make([]float32, 4)
	if n := c.Read(out); n != 4 || out[0] != 1 || out[3] != 4 {
		t.Fatalf("read %d %v", n, out)
	}
	// 2 samples in the ring at positions 4, 5; free space 6 wraps: positions 6, 7, 0..3.
	a, b := p.WriteRegions(100)
	if len(a) != 2 || len(b) != 4 {
		t.Fatalf("write regions %d + %d, want 2 + 4", len(a), len(b))
	}
	for i := range a {
		a[i] = float32(7 + i)
	}
	for i := range b {
		b[i] = float32(9 + i)
	}
	p.CommitWrite(5) // publish 7, 8, 9, 10, 11
	if c.Available() != 7 {
		t.Fatalf("available %d, want 7", c.Available())
	}
	ra, rb := c.ReadRegions(7)
	got := append(append([]float32(nil), ra...), rb...)
	for i, v := range got {
		if v != float32(5+i) {
			t.Fatalf("read regions %v", got)
		}
	}
	c.CommitRead(7)
	if p.Overflows() != 0 || c.Underflows() != 0 {
		t.Fatal("spurious xrun counts")
	}
	if n := c.Read(out); n != 0 || c.Underflows() != 1 {
		t.Fatalf("read from empty ring: %d, underflows %d", n, c.Underflows())
	}
	big := make([]float32, 20)
	if n := p.Write(big); n != 8 || p.Overflows() != 1 || c.Overflows() != 1 {
		t.Fatalf("overfull write: %d, overflows %d", n, p.Overflows())
	}
}

func TestCloseSignalling(t *testing.T) {
	p, c := New(16)
	p.Write([]float32{1, 2, 3})
	if c.Drained() || c.ProducerClosed() {
		t.Fatal("drained before close")
	}
	p.Close()
	if c.Drained() || !c.ProducerClosed() {
		t.Fatal("drained with samples left")
	}
	buf := make([]float32, 5)
	n, done := c.ReadFull(buf)
	if n != 3 || !done || !c.Drained() {
		t.Fatalf("ReadFull after close: n=%d done=%v drained=%v", n, done, c.Drained())
	}
	p2, c2 := New(4)
	c2.Close()
	if _, err := p2.WriteAll(make([]float32, 10)); err != ErrClosed || !p2.ConsumerClosed() {
		t.Fatalf("WriteAll into abandoned ring: %v", err)
	}
}

func TestCommitPanics(t *testing.T) {
	p, c := New(4)
	for name, f := range map[string]func(){
		"commit write beyond free": func() { p.CommitWrite(5) },
		"commit negative write":    func() { p.CommitWrite(-1) },
		"commit read beyond avail": func() { c.CommitRead(1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestStressContinuity is the JUCE-style stress test: a writer pushes random-size chunks of an
// increasing counter through a small ring, mixing the copying and the region APIs, while the
// reader pulls random-size chunks and checks that every sample arrives once and in order.
// Run under -race in CI.
func TestStressContinuity(t *testing.T) {
	total := 10_000_000
	if testing.Short() {
		total = 1_000_000
	}
	// float32 represents integers exactly up to 2^24; count modulo that.
	const modulus = 1 << 24
	p, c := New(1000)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 1))
		chunk := make([]float32, 700)
		next := 0
		for next < total {
			n := min(1+rng.IntN(len(chunk)), total-next)
			if rng.IntN(2) == 0 {
				for i := range chunk[:n] {
					chunk[i] = float32((next + i) % modulus)
				}
				if _, err := p.WriteAll(chunk[:n]); err != nil {
					t.Error(err)
					return
				}
				next += n
				continue
			}
			a, b := p.WriteRegions(n)
			k := 0
			for _, r := range [][]float32{a, b} {
				for i := range r {
					r[i] = float32((next + k) % modulus)
					k++
				}
			}
			p.CommitWrite(k)
			next += k
		}
		p.Close()
	}()
	rng := rand.New(rand.NewPCG(2, 2))
	buf := make([]float32, 900)
	want := 0
	for {
		var got []float32
		if rng.IntN(2) == 0 {
			n, done := c.ReadFull(buf[:1+rng.IntN(len(buf))])
			got = buf[:n]
			if done && n == 0 {
				break
			}
		} else {
			a, b := c.ReadRegions(1 + rng.IntN(len(buf)))
			got = append(append(buf[:0], a...), b...)
			c.CommitRead(len(got))
			if len(got) == 0 && c.Drained() {
				break
			}
		}
		for _, v := range got {
			if v != float32(want%modulus) {
				t.Fatalf("sample %d: got %v, want %v", want, v, float32(want%modulus))
			}
			want++
		}
	}
	wg.Wait()
	if want != total {
		t.Fatalf("received %d samples, sent %d", want, total)
	}
}
