//go:build !race

package retrieval

import "testing"

// TestRTPGHIFrameDoesNotAllocate: RTPGHI.Frame, both variants, allocates nothing (the race
// detector allocates, hence the build tag).
func TestRTPGHIFrameDoesNotAllocate(t *testing.T) {
	c := pghiCases()[0]
	s := mustSTFT(t, c.cfg, len(c.x))
	mag := s.Magnitude(nil, c.x)
	b := s.Bins()
	r, err := NewRTPGHI(c.cfg, PGHITolerance, 1)
	if err != nil {
		t.Fatal(err)
	}
	phase := make([]float64, b)
	m := 1
	frame := func(j int) []float64 { return mag[j*b : (j+1)*b] }
	for _, causal := range []bool{false, true} {
		r.Reset()
		if n := testing.AllocsPerRun(50, func() {
			var next []float64
			if !causal {
				next = frame(m + 1)
			}
			r.Frame(phase, frame(m-1), frame(m), next)
			m = 1 + m%(s.Frames()-3)
		}); n != 0 {
			t.Errorf("causal %v: %v allocations per frame", causal, n)
		}
	}
}
