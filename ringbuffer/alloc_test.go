//go:build !race

package ringbuffer

import "testing"

// The race detector allocates, so this lives in a file excluded under -race.
func TestWriteReadDoNotAllocate(t *testing.T) {
	p, c := New(1024)
	in := make([]float32, 256)
	out := make([]float32, 256)
	if a := testing.AllocsPerRun(1000, func() {
		p.Write(in)
		c.Read(out)
	}); a != 0 {
		t.Errorf("%v allocations per Write+Read, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		w1, w2 := p.WriteRegions(300)
		p.CommitWrite(len(w1) + len(w2))
		r1, r2 := c.ReadRegions(300)
		c.CommitRead(len(r1) + len(r2))
	}); a != 0 {
		t.Errorf("%v allocations per region round, want 0", a)
	}
}
