//go:build !race

package stream

import "testing"

// TestMultiPipelineRoundDoesNotAllocate: once the queues have grown, Write (blocks of several
// hops per stream, one of them through a ×2 stretch) and WriteFrames allocate nothing.
func TestMultiPipelineRoundDoesNotAllocate(t *testing.T) {
	for _, frames := range []bool{false, true} {
		cs := multiCases(t, 4, frames)
		m := NewMultiPipeline(multiPipes(t, cs), PoolConfig{Workers: 2})
		emit := func(i int, y []float64) error { return nil }
		xs := make([][]float64, len(cs))
		pos := 0
		step := func() {
			for i, c := range cs {
				n := 512 // four hops of samples, or one frame
				if frames {
					n = c.e.Bins()
				}
				xs[i] = c.x[pos*n : (pos+1)*n]
			}
			var err error
			if frames {
				err = m.WriteFrames(xs, emit)
			} else {
				err = m.Write(xs, emit)
			}
			if err != nil {
				t.Fatal(err)
			}
			pos++
		}
		for range 4 {
			step()
		}
		if allocs := testing.AllocsPerRun(10, step); allocs != 0 {
			t.Errorf("frames %v: a MultiPipeline write allocates %.1f times", frames, allocs)
		}
		m.Close()
	}
}
