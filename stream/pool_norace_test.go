//go:build !race

package stream

import "testing"

// TestPoolRoundDoesNotAllocate: Push, Round, Output and Err allocate nothing per round, with
// every optimizer in the pool and more streams than workers.
func TestPoolRoundDoesNotAllocate(t *testing.T) {
	const n = 6
	frames := poolFrames(t, n)
	p := NewPool(poolEngines(t, n), PoolConfig{Workers: 2})
	defer p.Close()
	r := 0
	round := func() {
		for s := range n {
			p.Push(s, frames[s][r])
		}
		p.Round()
		for s := range n {
			if p.Err(s) != nil || len(p.Output(s)) != 128 {
				t.Fatal(p.Err(s))
			}
		}
		r++
	}
	for range 8 {
		round()
	}
	if allocs := testing.AllocsPerRun(len(frames[0])-10, round); allocs != 0 {
		t.Errorf("a pool round allocates %.1f times", allocs)
	}
	if allocs := testing.AllocsPerRun(5, func() { p.SetDeadline(1, 1); p.SetDeadline(1, 0) }); allocs != 0 {
		t.Errorf("SetDeadline allocates %.1f times", allocs)
	}
}
