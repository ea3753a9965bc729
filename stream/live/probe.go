package live

// Clicks tells which input samples carry a latency-probe click (device.Sine implements it).
type Clicks interface {
	IsClick(i int) bool
}

// Probe is one latency probe: the sample where its click was found in the input and in the
// output.
type Probe struct{ In, Out int }

// probeSmooth is the half-width (samples) of the detector's smoothing.
const probeSmooth = 16

// MeasureProbes finds each click of probe in out: the peak of the smoothed second-difference
// energy (which a sine of a few hundred Hz barely has) within ±nfft samples of where the expected
// latency (samples) puts it, measured by the same detector on in, so that its bias cancels.
// Clicks too close to the end of out to be searched, and clicks not found, are left out. It
// allocates the result only.
func MeasureProbes(in, out []float64, probe Clicks, expected, nfft int) []Probe {
	var res []Probe
	for i := range in {
		if !probe.IsClick(i) || i+expected+nfft >= len(out) {
			continue
		}
		pi, po := detectClick(in, i, nfft), detectClick(out, i+expected, nfft)
		if pi >= 0 && po >= 0 {
			res = append(res, Probe{pi, po})
		}
	}
	return res
}

// detectClick returns the sample within ±radius of centre where x's second difference has the
// most energy over ±probeSmooth samples, or −1 if that window holds no sample.
func detectClick(x []float64, centre, radius int) int {
	best, at := -1.0, -1
	for t := max(1+probeSmooth, centre-radius); t < min(len(x)-1-probeSmooth, centre+radius); t++ {
		e := 0.0
		for j := t - probeSmooth; j <= t+probeSmooth; j++ {
			d := x[j+1] - 2*x[j] + x[j-1]
			e += d * d
		}
		if e > best {
			best, at = e, t
		}
	}
	return at
}
