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

// residualBlock is the number of interior frames whose inconsistency residual is taken from one
// window of the re-synthesised signal: the window's frames overlap its neighbours' by n_fft/hop
// − 1 frames at each side, so the synthesis costs 2/64 more than over the whole signal at once.
func (s *STFT) residualBlock() int { return 64 * ceilDiv(s.cfg.NFFT, s.cfg.Hop) }

// residualBlocks calls fn for consecutive runs of frames [m0, m1) of the group g, in frame
// order, with the signal samples [lo, hi) they read: every padded group as one run, the interior
// group in runs of residualBlock frames.
func (s *STFT) residualBlocks(fn func(g *frameGroup, m0, m1, lo, hi int)) {
	n := s.cfg.NFFT
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.src != nil {
			fn(g, g.m0, g.m1, g.lo, g.hi)
			continue
		}
		for m0 := g.m0; m0 < g.m1; m0 += s.residualBlock() {
			m1 := min(g.m1, m0+s.residualBlock())
			fn(g, m0, m1, s.FrameStart(m0), s.FrameStart(m1-1)+n)
		}
	}
}

// residualWindow returns the longest window [lo, hi) that residualBlocks passes: the scratch
// length inconsistencyResidual needs.
func (s *STFT) residualWindow() int {
	w := 0
	s.residualBlocks(func(_ *frameGroup, _, _, lo, hi int) { w = max(w, hi-lo) })
	return w
}

// inconsistencyResidual returns Σ_m ‖STFT(y)_m − S_m‖², where S = T·X/|X| (T where X = 0) is the
// target magnitudes mag (Frames() × Bins()) with the phase of x's STFT and y = ISTFT(S) its
// least-squares re-synthesis: the numerator of the normalised inconsistency. It holds y only on
// the window of samples one run of frames reads (residualBlocks), re-synthesised there from every
// frame that touches it in the order a whole-signal synthesis adds them, so that the result is
// the same to the last bit as with y whole. yw is the scratch (at least residualWindow()
// samples), spec2 one frame (Bins() values). Cost: per frame about three forward FFTs and one
// inverse.
func (s *STFT) inconsistencyResidual(x, mag, yw []float64, spec2 []complex128) float64 {
	s.checkSignal(len(x))
	var num float64
	s.residualBlocks(func(g *frameGroup, m0, m1, lo, hi int) {
		num = s.blockResidual(num, g, m0, m1, lo, hi, x, mag, yw, spec2)
	})
	return num
}

// blockResidual adds inconsistencyResidual's terms of the frames [m0, m1) of the group g (one
// of s.groups), which read the signal samples [lo, hi) (hi − lo ≤ len(yw)), onto num in frame
// order and returns the sum. Each frame's term is the same to the last bit whatever run it is
// taken in.
func (s *STFT) blockResidual(num float64, g *frameGroup, m0, m1, lo, hi int, x, mag, yw []float64, spec2 []complex128) float64 {
	hop, n, b := s.cfg.Hop, s.cfg.NFFT, s.bins
	y := yw[:hi-lo]
	s.projectedSynthesisWindow(y, lo, x, mag)
	xs := g.signal(x)
	// ys[j] is sample g.start + j of y: the window itself, or for a padded run its padded
	// buffer (gradBuffer's scratch, free again), gathered like signal's.
	ys := y
	if g.src == nil {
		ys = y[g.start+(m0-g.m0)*hop-lo:]
	} else {
		ys = g.gradBuffer(nil)
		for i, t := range g.src {
			if t >= 0 {
				ys[i] = y[int(t)-lo]
			}
		}
	}
	for m := m0; m < m1; m++ {
		o := (m - g.m0) * hop
		mulTo(s.frame, s.win, xs[o:o+n])
		s.plan.Forward(s.spec, s.frame)
		ProjectMagnitude(s.spec, mag[m*b:(m+1)*b])
		if g.src == nil {
			o = (m - m0) * hop
		}
		mulTo(s.frame, s.win, ys[o:o+n])
		s.plan.Forward(spec2, s.frame)
		for k, v := range s.spec {
			d := spec2[k] - v
			num += real(d)*real(d) + imag(d)*imag(d)
		}
	}
	return num
}

// projectedSynthesisWindow writes into y the samples [lo, lo+len(y)) of the least-squares ISTFT
// of T·X/|X| (T where X = 0), the target magnitudes mag with the phase of x's STFT, from every
// frame that touches them. Each sample sums the same terms in the same order as over the whole
// signal (frame by frame; a padded run summed in its own buffer, then folded), so the values are
// those of a whole-signal synthesis to the last bit. Cost: one forward and one inverse FFT per
// frame touching the window.
func (s *STFT) projectedSynthesisWindow(y []float64, lo int, x, mag []float64) {
	hop, n, b := s.cfg.Hop, s.cfg.NFFT, s.bins
	hi := lo + len(y)
	clear(y)
	synth := func(m int, src []float64) {
		mulTo(s.frame, s.win, src)
		s.plan.Forward(s.spec, s.frame)
		ProjectMagnitude(s.spec, mag[m*b:(m+1)*b])
		s.plan.Inverse(s.frame, s.spec)
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.hi <= lo || g.lo >= hi {
			continue
		}
		if g.src != nil {
			src, buf := g.signal(x), g.gradBuffer(nil)
			for m := g.m0; m < g.m1; m++ {
				o := (m - g.m0) * hop
				synth(m, src[o:o+n])
				mulAddTo(buf[o:o+n], s.win, s.frame)
			}
			for i, t := range g.src {
				if int(t) >= lo && int(t) < hi {
					y[int(t)-lo] += buf[i]
				}
			}
			continue
		}
		// Interior frames m with s_m < hi and s_m + n > lo.
		first := g.m0
		if v := lo - n + 1 + s.pad; v > 0 {
			first = max(first, ceilDiv(v, hop))
		}
		last := min(g.m1, ceilDiv(hi+s.pad, hop))
		for m := first; m < last; m++ {
			st := s.FrameStart(m)
			synth(m, x[st:st+n])
			a, e := max(st, lo), min(st+n, hi)
			mulAddTo(y[a-lo:e-lo], s.win[a-st:], s.frame[a-st:])
		}
	}
	for i := range y {
		y[i] *= s.synthNorm.at(lo + i)
	}
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
