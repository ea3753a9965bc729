package stream

import (
	"math"
	"time"
)

const (
	histBase  = 100 * time.Nanosecond
	histRatio = 1.02
	histBins  = 1300 // 100 ns · 1.02^1300 ≈ 1.5·10^4 s
)

// Stats counts an engine's work since Reset: frames, iterations, per-frame compute time (a
// logarithmic histogram with 2 % resolution, so percentiles cost no allocation) and deadline
// misses (frames whose compute time exceeded the hop duration, when the sample rate is known).
// Read it between calls to Push, from the same goroutine.
type Stats struct {
	Frames         int64
	Iterations     int64
	DeadlineMisses int64
	Max            time.Duration
	Total          time.Duration
	hist           [histBins]int64
	iters          [iterHistLen]int64 // frames by iterations run; the last entry counts ≥ iterHistLen−1
}

const iterHistLen = 1 << 13

func (s *Stats) recordIterations(n int) {
	s.Iterations += int64(n)
	s.iters[min(n, iterHistLen-1)]++
}

// IterationsPercentile returns the p-th percentile (0 < p ≤ 100) of the optimizer iterations run
// per frame (exact up to 8190; larger counts read as 8191); 0 before the first frame. In
// deadline mode it tells how many fixed iterations per hop a run amounts to.
func (s *Stats) IterationsPercentile(p float64) int {
	var total int64
	for _, c := range s.iters {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := max(1, int64(math.Ceil(p/100*float64(total))))
	var c int64
	for i, n := range s.iters {
		c += n
		if c >= rank {
			return i
		}
	}
	return iterHistLen - 1
}

func (s *Stats) reset() { *s = Stats{} }

func (s *Stats) record(d, deadline time.Duration) {
	s.Frames++
	s.Total += d
	s.Max = max(s.Max, d)
	if deadline > 0 && d > deadline {
		s.DeadlineMisses++
	}
	i := 0
	if d > histBase {
		i = min(histBins-1, int(math.Log(float64(d)/float64(histBase))/math.Log(histRatio)))
	}
	s.hist[i]++
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the per-frame compute time, to 2 %
// (the upper edge of its histogram bin, capped by Max); 0 before the first frame.
func (s *Stats) Percentile(p float64) time.Duration {
	if s.Frames == 0 {
		return 0
	}
	rank := int64(math.Ceil(p / 100 * float64(s.Frames)))
	var c int64
	for i, n := range s.hist {
		c += n
		if c >= rank {
			d := time.Duration(float64(histBase) * math.Pow(histRatio, float64(i+1)))
			return min(d, s.Max)
		}
	}
	return s.Max
}

// FrameTimes returns every frame's compute time since Reset as the histogram behind Percentile
// holds it, in increasing order: each frame at the geometric centre of its 2 % bin, capped by Max.
// For plotting a distribution; it allocates Frames values.
func (s *Stats) FrameTimes() []time.Duration {
	out := make([]time.Duration, 0, s.Frames)
	for i, n := range s.hist {
		d := time.Duration(float64(histBase) * math.Pow(histRatio, float64(i)+0.5))
		if i == 0 {
			d = histBase / 2
		}
		d = min(d, s.Max)
		for range n {
			out = append(out, d)
		}
	}
	return out
}

// IterationsPerFrame returns the mean number of optimizer iterations per frame.
func (s *Stats) IterationsPerFrame() float64 {
	if s.Frames == 0 {
		return 0
	}
	return float64(s.Iterations) / float64(s.Frames)
}
