package retrieval

import "math"

// Frame-by-frame forms of whole-spectrogram computations, for the offline metrics and starts:
// they hold one frame's spectrum at a time instead of Frames() × Bins() complex values (a
// 10-minute 48 kHz signal at n_fft 512, hop 128 has 58 M bins: 0.9 GB as complex128).

// overlapAdd writes into dst (Length() samples) the least-squares ISTFT of the spectrogram whose
// frame m (frame-start convention, Bins() values) spectrum(m, spec) writes into spec; the same
// result as Inverse on the whole spectrogram. Not safe for concurrent use (the STFT's scratch).
func (s *STFT) overlapAdd(dst []float64, spectrum func(m int, spec []complex128)) {
	hop, n := s.cfg.Hop, s.cfg.NFFT
	clear(dst)
	for gi := range s.groups {
		g := &s.groups[gi]
		buf := g.gradBuffer(dst)
		for m := g.m0; m < g.m1; m++ {
			spectrum(m, s.spec)
			s.plan.Inverse(s.frame, s.spec)
			o := (m - g.m0) * hop
			mulAddTo(buf[o:o+n], s.win, s.frame)
		}
		g.fold(dst)
	}
	s.synthNorm.mulInto(dst)
}

// projectedSynthesis writes into dst (Length() samples) the least-squares ISTFT of T·X/|X| (T where
// X = 0): the target magnitudes mag (Frames() × Bins()) with the phase of x's STFT, one frame at
// a time. Cost: one forward and one inverse FFT per frame.
func (s *STFT) projectedSynthesis(dst, x, mag []float64) {
	s.checkSignal(len(x))
	hop, n := s.cfg.Hop, s.cfg.NFFT
	clear(dst)
	for gi := range s.groups {
		g := &s.groups[gi]
		src := g.signal(x)
		buf := g.gradBuffer(dst)
		for m := g.m0; m < g.m1; m++ {
			o := (m - g.m0) * hop
			mulTo(s.frame, s.win, src[o:o+n])
			s.plan.Forward(s.spec, s.frame)
			ProjectMagnitude(s.spec, mag[m*s.bins:(m+1)*s.bins])
			s.plan.Inverse(s.frame, s.spec)
			mulAddTo(buf[o:o+n], s.win, s.frame)
		}
		g.fold(dst)
	}
	s.synthNorm.mulInto(dst)
}

// projectionResidual returns Σ_m ‖STFT(y)_m − T_m·X_m/|X_m|‖², X = STFT(x), frame by frame: the
// numerator of the inconsistency when y is projectedSynthesis of x. Cost: two forward FFTs per
// frame; spec2 is one frame of scratch (Bins() values).
func (s *STFT) projectionResidual(x, y, mag []float64, spec2 []complex128) float64 {
	s.checkSignal(len(x))
	s.checkSignal(len(y))
	hop, n := s.cfg.Hop, s.cfg.NFFT
	var num float64
	for gi := range s.groups {
		g := &s.groups[gi]
		xs := g.signal(x)
		var ys []float64
		if g.src == nil {
			ys = y[g.start:]
		} else {
			// The run's padded buffer for y: gradBuffer's scratch, gathered like signal's.
			ys = g.gradBuffer(nil)
			for i, t := range g.src {
				if t >= 0 {
					ys[i] = y[t]
				}
			}
		}
		for m := g.m0; m < g.m1; m++ {
			o := (m - g.m0) * hop
			mulTo(s.frame, s.win, xs[o:o+n])
			s.plan.Forward(s.spec, s.frame)
			ProjectMagnitude(s.spec, mag[m*s.bins:(m+1)*s.bins])
			mulTo(s.frame, s.win, ys[o:o+n])
			s.plan.Forward(spec2, s.frame)
			for k, v := range s.spec {
				d := spec2[k] - v
				num += real(d)*real(d) + imag(d)*imag(d)
			}
		}
	}
	return num
}

// magnitudeMisfit returns Σ (|STFT(x)| − T)² over every bin, frame by frame (the numerator of the
// spectral convergence, squared).
func (s *STFT) magnitudeMisfit(x, mag []float64) float64 {
	s.checkSignal(len(x))
	hop, n := s.cfg.Hop, s.cfg.NFFT
	var num float64
	for gi := range s.groups {
		g := &s.groups[gi]
		src := g.signal(x)
		for m := g.m0; m < g.m1; m++ {
			o := (m - g.m0) * hop
			mulTo(s.frame, s.win, src[o:o+n])
			s.plan.Forward(s.spec, s.frame)
			row := mag[m*s.bins : (m+1)*s.bins]
			for k, v := range s.spec {
				d := math.Hypot(real(v), imag(v)) - row[k]
				num += d * d
			}
		}
	}
	return num
}
