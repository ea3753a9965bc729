package retrieval

import (
	"fmt"
	"math"
	"math/bits"
	"math/cmplx"
	"slices"
)

// This file holds the one phase-gradient implementation that offline PGHI (PGHI) and real-time
// PGHI (RTPGHI) share: the phase derivatives estimated from the log-magnitude, and the heap
// integration of those derivatives over a grid of frames × bins.
//
// Theory (Z. Průša, P. Balazs, P. L. Søndergaard, "A noniterative method for reconstruction of
// phase from STFT magnitude", IEEE/ACM TASLP 25(5), 2017, section III). For a Gaussian window
// exp(−π·t²/γ) (γ in samples²) the STFT, with phase referenced to each frame's centre (LTFAT's
// "time-invariant" convention, FrameCentre here), has, at time x (samples) and frequency ω
// (cycles per sample),
//
//	∂φ/∂x =  (1/γ)·∂(log|X|)/∂ω + 2π·ω
//	∂φ/∂ω = −γ·∂(log|X|)/∂x
//
// so per hop a and per bin 1/N, with ∂_k and ∂_m differences in bin and frame index units,
//
//	Δφ_time[m,k] =  (a·N/γ)·∂_k log|X[m,k]| + 2π·a·k/N   (radians per hop)
//	Δφ_freq[m,k] = −(γ/(a·N))·∂_m log|X[m,k]|            (radians per bin)
//
// A pure tone has Δφ_time = 2π·a·f (f its frequency in cycles per sample); an impulse at time t0
// has Δφ_freq = −2π·(t0 − m·a)/N. Other windows use the γ of the Gaussian they best approximate
// (Window.TFR; 0.25645·L² for Hann).
//
// Boundaries. A real signal's |X[m,k]| is even in k about k = 0 and k = N/2, so the centred
// difference along frequency is exactly zero there (a one-sided difference would make the DC and
// Nyquist bins turn by a spurious angle every hop). Along time there is no such symmetry in
// general, so the first and last frames use second-order one-sided differences, which, like the
// centred one, are exact for a log-magnitude quadratic in time (a Gaussian envelope). A neighbour
// whose magnitude is negligible (at the log floor) is not data: the difference falls back to the
// other side. The phase is integrated in the frame-centre convention (the convention of these
// formulas); callers convert it to the frame-start convention of the STFT (FrameStart), which for
// center framing puts frame m's first sample at m·hop − n_fft/2.

// phaseGrad holds the constants of the phase-gradient estimate for one STFT configuration.
type phaseGrad struct {
	bins  int
	tMul  float64 // a·N/γ: per-hop phase advance per unit ∂_k log|X|
	tStep float64 // 2π·a/N: per-hop phase advance of bin k is k·tStep (plus the log term)
	fMul  float64 // −γ/(a·N): per-bin phase step per unit ∂_m log|X|
}

// newPhaseGrad returns the phase-gradient constants of a resolved cfg. The window's γ is
// cfg.Window.TFR; windows without one (Rectangular) use Hann's.
func newPhaseGrad(cfg Config) phaseGrad {
	gamma := cfg.Window.TFR(cfg.WinLength, cfg.GaussTFR)
	if gamma == 0 {
		gamma = Hann.TFR(cfg.WinLength, 0)
	}
	a, n := float64(cfg.Hop), float64(cfg.NFFT)
	return phaseGrad{bins: cfg.Bins(), tMul: a * n / gamma, tStep: 2 * math.Pi * a / n, fMul: -gamma / (a * n)}
}

// logMagnitude writes log(max(mag, floor)) into dst (same length). floor > 0.
func logMagnitude(dst, mag []float64, floor float64) {
	lf := math.Log(floor)
	for k, v := range mag {
		if v > floor {
			dst[k] = math.Log(v)
		} else {
			dst[k] = lf
		}
	}
}

// timeDirection writes into dst (bins) the per-hop phase advance Δφ_time of one frame from its
// log-magnitudes lg (bins; values ≤ lf are negligible and not used as data): centred differences
// along frequency, one-sided where one neighbour is negligible, zero at DC and Nyquist.
func (g phaseGrad) timeDirection(dst, lg []float64, lf float64) {
	b := g.bins
	dst[0] = 0
	for k := 1; k < b-1; k++ {
		var d float64
		switch lo, hi := lg[k-1] > lf, lg[k+1] > lf; {
		case lo && hi:
			d = (lg[k+1] - lg[k-1]) / 2
		case hi:
			d = lg[k+1] - lg[k]
		case lo:
			d = lg[k] - lg[k-1]
		}
		dst[k] = g.tMul*d + g.tStep*float64(k)
	}
	if b > 1 {
		dst[b-1] = g.tStep * float64(b-1)
	}
}

// timeStencil is a finite-difference stencil along time: the derivative at frame m is
// Σ_j c[j]·row(m + j − 2), j = 0..4 (rows m−2 … m+2); unused rows have coefficient 0.
type timeStencil [5]float64

var (
	centred   = timeStencil{0, -0.5, 0, 0.5, 0}  // (f[m+1] − f[m−1])/2
	backward2 = timeStencil{0.5, -2, 1.5, 0, 0}  // (3f[m] − 4f[m−1] + f[m−2])/2
	forward2  = timeStencil{0, 0, -1.5, 2, -0.5} // (−3f[m] + 4f[m+1] − f[m+2])/2
	backward1 = timeStencil{0, -1, 1, 0, 0}      // f[m] − f[m−1]
	forward1  = timeStencil{0, 0, -1, 1, 0}      // f[m+1] − f[m]
	noTime    = timeStencil{}                    // a lone frame: no time information
)

// chooseStencil returns the most accurate stencil the available rows allow: centred when both
// neighbours are known, else second-order one-sided, else first-order one-sided, else none.
func chooseStencil(havePrev2, havePrev, haveNext, haveNext2 bool) timeStencil {
	switch {
	case havePrev && haveNext:
		return centred
	case havePrev && havePrev2:
		return backward2
	case haveNext && haveNext2:
		return forward2
	case havePrev:
		return backward1
	case haveNext:
		return forward1
	}
	return noTime
}

// freqDirection writes into dst (bins) the per-bin phase step Δφ_freq of one frame from the
// log-magnitudes of the rows around it: rows[j] is frame m + j − 2, nil where that frame is absent;
// values ≤ lf are negligible and not used as data. Each bin takes the most accurate stencil its
// available neighbours allow (chooseStencil).
func (g phaseGrad) freqDirection(dst []float64, rows *[5][]float64, lf float64) {
	have := func(j, k int) bool { return rows[j] != nil && rows[j][k] > lf }
	for k := range dst {
		s := chooseStencil(have(0, k), have(1, k), have(3, k), have(4, k))
		d := 0.0
		for j, c := range s {
			if c != 0 {
				d += c * rows[j][k]
			}
		}
		dst[k] = g.fMul * d
	}
}

// Cell states of a heapGrid.
const (
	cellUnknown    uint8 = iota // phase still to be integrated
	cellKnown                   // phase assigned (integrated, a start, or given)
	cellNegligible              // below the tolerance: left out of the integration
)

// heapGrid integrates phase derivatives over a grid of frames × bins (row-major) in order of
// decreasing magnitude (the heap of Průša et al. 2017, Algorithm 1): the largest bin whose phase
// is known is taken (take: off a max-heap, or from the given rows' bins, which are sorted once
// instead of entering the heap, seedRows), and each of its four neighbours that is still unknown
// gets its phase by the trapezoidal rule along the edge joining them and goes onto the heap.
// Bins below the tolerance are never entered or crossed. When the heap and the sorted seeds run
// dry with unknown bins left, the largest of them starts a new region with phase 0; run can then
// set the regions' constants (settle). It does not allocate after newHeapGrid, settle aside.
type heapGrid struct {
	frames, bins int
	key          []float64   // magnitudes, frames × bins; the heap's order
	state        []uint8     // cell states, frames × bins
	heap         []heapEntry // max-heap of flat indices by key
	seeds        []uint64    // the given rows' bins, sorted (see seedRows); taken from the end
	seedBits     uint        // low bits of a seeds entry that hold its index
	order        []int32     // start candidates, by decreasing key
	next         int         // cursor into order
	region       []int32     // per cell: the region (start) its phase was integrated from; −1 for given phases
	regions      int         // regions started by the last run
}

func newHeapGrid(frames, bins int) *heapGrid {
	n := frames * bins
	return &heapGrid{
		frames: frames, bins: bins,
		state: make([]uint8, n), heap: make([]heapEntry, 0, n), order: make([]int32, 0, n),
		region: make([]int32, n), seeds: make([]uint64, 0, n),
	}
}

// run integrates the phase over key (frames × bins) in two passes: first over the bins above
// strong only, so that every strong region is integrated from its own peak (or from the known
// bins) and never through the weak bins between regions, then, from the border of what is known,
// over the bins down to weak (weak ≥ strong skips the second pass). The first knownRows frames
// hold given phases: their bins are seeds, never integrated. Bins at or below weak are left
// cellNegligible in h.state. tgrad and fgrad are the per-hop and per-bin phase steps. With
// settle, every region started at phase 0 then gets the constant of heapGrid.settle (which
// allocates).
func (h *heapGrid) run(key, phase, tgrad, fgrad []float64, strong, weak float64, knownRows int, settle bool) {
	known := knownRows * h.bins
	h.reset(key, strong)
	h.seedRows(known)
	h.integrate(phase, tgrad, fgrad)
	if weak < strong {
		h.relax(weak)
		for i := 0; i < known; i++ {
			if h.state[i] == cellUnknown {
				h.state[i] = cellKnown
			}
		}
		h.seedBorders()
		h.integrate(phase, tgrad, fgrad)
	}
	if settle {
		h.settle(phase, tgrad, fgrad, weak < strong)
	}
}

// reset prepares an integration over key (frames × bins): bins at or below thr are negligible,
// the others unknown, and the heap is empty.
func (h *heapGrid) reset(key []float64, thr float64) {
	if len(key) != len(h.state) {
		panic(fmt.Sprintf("retrieval: heap grid of %d cells given %d magnitudes", len(h.state), len(key)))
	}
	h.key = key
	h.heap = h.heap[:0]
	h.regions = 0
	for i, v := range key {
		if v > thr {
			h.state[i] = cellUnknown
		} else {
			h.state[i] = cellNegligible
		}
	}
}

// relax makes the negligible bins above thr unknown again (the second pass of offline PGHI).
func (h *heapGrid) relax(thr float64) {
	for i, v := range h.key {
		if h.state[i] == cellNegligible && v > thr {
			h.state[i] = cellUnknown
		}
	}
}

// seedRows marks the first known bins given (region −1) and, those above the threshold, known
// seeds of the integration. Instead of entering the heap they are sorted once, by decreasing key,
// into h.seeds, which integrate merges with the heap (take): RTPGHI seeds a whole frame per call,
// and popping it off a heap was a quarter of its time. Each entry is the key's bits (a
// non-negative float64 orders as its bits do; the seeds are the bins above the threshold, which
// is ≥ 0, so their keys are positive) with its lowest seedBits (enough for the index, 10 bits
// for the 513 bins of an n_fft 1024 frame) replaced by the bin's index, so the sort is of plain
// integers; keys that agree in all the other bits (relative difference below 2⁻⁴², there)
// count as equal and go by index. Exactly equal magnitudes, which float32 input can hold, may
// therefore pop in another order than the heap alone gave them, and integrate from another
// neighbour.
func (h *heapGrid) seedRows(known int) {
	h.seeds = h.seeds[:0]
	h.seedBits = uint(bits.Len(uint(known)))
	mask := uint64(1)<<h.seedBits - 1
	for i := 0; i < known; i++ {
		h.region[i] = -1
		if h.state[i] == cellUnknown {
			h.state[i] = cellKnown
			// Larger index last among equal keys: pops take from the end, smaller index first.
			h.seeds = append(h.seeds, math.Float64bits(h.key[i])&^mask|(mask-uint64(i)))
		}
	}
	slices.Sort(h.seeds)
}

// take takes the largest known bin not yet taken: the top of the heap or the next seed,
// whichever has the larger key (the heap on a tie), up to the seeds' packing (seedRows: seeds
// within 2⁻⁴² or so of each other go by index, and a heap entry between them in key may come
// first). ok is false when both are empty.
func (h *heapGrid) take() (i int32, ok bool) {
	if n := len(h.seeds); n > 0 {
		mask := uint64(1)<<h.seedBits - 1
		s := int32(mask - h.seeds[n-1]&mask)
		if len(h.heap) == 0 || h.key[s] > h.heap[0].key {
			h.seeds = h.seeds[:n-1]
			return s, true
		}
	}
	if len(h.heap) == 0 {
		return 0, false
	}
	return h.pop(), true
}

// seed marks bin i known and puts it on the heap.
func (h *heapGrid) seed(i int) {
	h.state[i] = cellKnown
	h.push(int32(i))
}

// seedBorders puts on the heap every known bin that has an unknown neighbour.
func (h *heapGrid) seedBorders() {
	b := h.bins
	for i, s := range h.state {
		if s != cellKnown {
			continue
		}
		m, k := i/b, i%b
		if (k > 0 && h.state[i-1] == cellUnknown) || (k+1 < b && h.state[i+1] == cellUnknown) ||
			(m > 0 && h.state[i-b] == cellUnknown) || (m+1 < h.frames && h.state[i+b] == cellUnknown) {
			h.push(int32(i))
		}
	}
}

// integrate assigns a phase to every unknown bin: from the heap and the sorted seeds (take), then
// from new starts (phase 0)
// at the largest unknown bins. tgrad and fgrad are the per-hop and per-bin phase steps
// (frames × bins); phase holds the known phases and receives the rest.
func (h *heapGrid) integrate(phase, tgrad, fgrad []float64) {
	b := h.bins
	sorted := false // h.order is built when the heap first runs dry with unknown bins left:
	// RTPGHI, seeded by a whole known frame, rarely needs it, and the sort was a fifth of a frame
	for {
		for {
			ii, ok := h.take()
			if !ok {
				break
			}
			i := int(ii)
			m, k := i/b, i%b
			r := h.region[i]
			if k+1 < b && h.state[i+1] == cellUnknown {
				phase[i+1] = phase[i] + (fgrad[i]+fgrad[i+1])/2
				h.region[i+1] = r
				h.seed(i + 1)
			}
			if k > 0 && h.state[i-1] == cellUnknown {
				phase[i-1] = phase[i] - (fgrad[i]+fgrad[i-1])/2
				h.region[i-1] = r
				h.seed(i - 1)
			}
			if m+1 < h.frames && h.state[i+b] == cellUnknown {
				phase[i+b] = phase[i] + (tgrad[i]+tgrad[i+b])/2
				h.region[i+b] = r
				h.seed(i + b)
			}
			if m > 0 && h.state[i-b] == cellUnknown {
				phase[i-b] = phase[i] - (tgrad[i]+tgrad[i-b])/2
				h.region[i-b] = r
				h.seed(i - b)
			}
		}
		if !sorted {
			h.sortUnknown()
			sorted = true
		}
		for h.next < len(h.order) && h.state[h.order[h.next]] != cellUnknown {
			h.next++
		}
		if h.next == len(h.order) {
			return
		}
		start := int(h.order[h.next])
		phase[start] = 0
		h.region[start] = int32(h.regions)
		h.regions++
		h.seed(start)
	}
}

// sortUnknown lists the unknown bins in h.order by decreasing key (ties by index), the candidates
// for new starts, and rewinds the cursor. The largest unknown bin is the same whether the list is
// made before the heap runs or when it first runs dry, so building it late changes no result.
func (h *heapGrid) sortUnknown() {
	h.order = h.order[:0]
	for i, s := range h.state {
		if s == cellUnknown {
			h.order = append(h.order, int32(i))
		}
	}
	key := h.key
	slices.SortFunc(h.order, func(x, y int32) int {
		switch kx, ky := key[x], key[y]; {
		case kx > ky:
			return -1
		case kx < ky:
			return 1
		}
		return int(x - y)
	})
	h.next = 0
}

// settle sets the constant phase of every region started at phase 0 (the integration fixes a
// region only up to a constant), from two kinds of evidence, taken in order of decreasing weight
// (a maximum spanning forest, Kruskal's algorithm with a union-find that keeps each region's
// offset from its root):
//
//   - Links between regions (joined, when joinRegions, by the second pass through weak bins):
//     across every edge between bins i and j of regions a and b, the integrated phases differ
//     from the trapezoidal step by c_b − c_a; the link's evidence is Σ |X_i|·|X_j|·e^{i(φ_j − φ_i − step)}
//     and its angle the offset that makes a and b continue each other; a link whose edges
//     disagree (|Σ w·e^{id}| < linkMinCoherence·Σ w) is dropped. Integrating each strong
//     region from its own peak (first pass) and relating the regions afterwards keeps the ridges
//     accurate without losing the relative phase of, say, the harmonics of a voice, which the
//     first pass separates (espeak-ng speech at n_fft 1024, hop 128: −26.2 dB against −23.2 dB
//     with the regions left at phase 0, and −25.1 dB with one pass).
//   - A link to the real axis for every broadband region: a real frame's DC and Nyquist
//     coefficients are real, so the constant c minimising Σ T²·sin²(φ + c) over the region's
//     DC and Nyquist bins, c = −½·arg Σ T²·e^{2iφ}, makes the region the STFT of a real signal
//     there (c and c + π give x and −x). A constant turns a real component x into
//     cos(c)·x + sin(c)·H(x) (H the Hilbert transform): for a narrowband component a harmless
//     shift of its carrier, but for a broadband one (a click, a burst of noise) a different
//     waveform with nearly the same magnitudes, a local minimum that the iterations started from
//     it do not leave (issue 21: PGHI then 600 FGLA iterations ended 1–13 dB behind zero phase on
//     clicks; so did the same heap fed the exact phase derivatives). Only regions whose DC and
//     Nyquist bins hold at least alignMinEdgeShare of the energy a flat spectrum puts there
//     (2/bins of the region's energy) have this link: in a narrowband region near DC those bins
//     hold the leakage of a component whose negative-frequency image the phase-gradient model
//     ignores, and their phases say nothing about c (turning by them cost 2.7 dB on the linear
//     chirp of TestPGHIKnownSignals).
//
// A link whose two ends are already related is skipped, so the stronger evidence wins (the
// exponential chirp's DC offset and its sweep each meet the real axis far more strongly than
// each other). Regions with neither kind of link keep the constant they started with; given
// phases (region −1) never change. It allocates O(regions + links).
func (h *heapGrid) settle(phase, tgrad, fgrad []float64, joinRegions bool) {
	n := h.regions
	if n == 0 {
		return
	}
	type link struct {
		a, b  int32   // regions; b = n is the real axis
		theta float64 // wanted t_b − t_a, t the constant added to a region
		w     float64 // strength of the evidence
	}
	var links []link
	b := h.bins
	if joinRegions && n > 1 {
		acc := map[[2]int32]complex128{} // per pair of regions: Σ w·e^{id}
		wsum := map[[2]int32]float64{}   // and Σ w
		add := func(i, j int, step float64) {
			ri, rj := h.region[i], h.region[j]
			if ri == rj || ri < 0 || rj < 0 || h.state[i] != cellKnown || h.state[j] != cellKnown {
				return
			}
			d := phase[j] - phase[i] - step // c_j − c_i
			if ri > rj {
				ri, rj, d = rj, ri, -d
			}
			acc[[2]int32{ri, rj}] += complex(h.key[i]*h.key[j], 0) * cisPhase(d)
			wsum[[2]int32{ri, rj}] += h.key[i] * h.key[j]
		}
		for i := range h.state {
			if k := i % b; k+1 < b {
				add(i, i+1, (fgrad[i]+fgrad[i+1])/2)
			}
			if i+b < len(h.state) {
				add(i, i+b, (tgrad[i]+tgrad[i+b])/2)
			}
		}
		for p, z := range acc {
			if cmplx.Abs(z) < linkMinCoherence*wsum[p] {
				continue // the edges disagree: no evidence
			}
			links = append(links, link{p[0], p[1], -cmplx.Phase(z), cmplx.Abs(z)})
		}
	}
	edge := make([]complex128, n)
	edgeE, energy := make([]float64, n), make([]float64, n)
	for i, s := range h.state {
		r := h.region[i]
		if s != cellKnown || r < 0 {
			continue
		}
		e := h.key[i] * h.key[i]
		energy[r] += e
		if k := i % b; k == 0 || k == b-1 {
			edge[r] += complex(e, 0) * cisPhase(2*phase[i])
			edgeE[r] += e
		}
	}
	for r, z := range edge {
		if z != 0 && edgeE[r]*float64(b) >= alignMinEdgeShare*2*energy[r] {
			links = append(links, link{int32(n), int32(r), -cmplx.Phase(z) / 2, cmplx.Abs(z)})
		}
	}
	slices.SortFunc(links, func(x, y link) int {
		switch {
		case x.w > y.w:
			return -1
		case x.w < y.w:
			return 1
		case x.a != y.a:
			return int(x.a - y.a)
		}
		return int(x.b - y.b)
	})
	// Union-find over the regions and the real axis (node n, always the root of its tree):
	// off[r] = t_r − t_parent(r).
	parent := make([]int32, n+1)
	off := make([]float64, n+1)
	for r := range parent {
		parent[r] = int32(r)
	}
	find := func(r int32) (int32, float64) {
		t := 0.0
		root := r
		for parent[root] != root {
			t += off[root]
			root = parent[root]
		}
		for q, tq := r, t; parent[q] != root && q != root; { // path compression
			next := parent[q]
			nt := tq - off[q]
			parent[q], off[q] = root, tq
			q, tq = next, nt
		}
		return root, t
	}
	for _, l := range links {
		ra, ta := find(l.a)
		rb, tb := find(l.b)
		switch {
		case ra == rb:
		case rb == int32(n): // keep the real axis a root: move a's tree
			parent[ra], off[ra] = rb, tb-ta-l.theta
		default:
			parent[rb], off[rb] = ra, l.theta-tb+ta
		}
	}
	for i, s := range h.state {
		if r := h.region[i]; s == cellKnown && r >= 0 {
			_, t := find(r)
			phase[i] += t
		}
	}
}

// alignMinEdgeShare is the share, relative to a flat spectrum's, of a region's energy in its DC
// and Nyquist bins from which settle links it to the real axis (measured on issue 21's signals:
// clicks and impulses 0.1–2, the exponential chirp with its DC offset 20–100, a tone at bin 14 and
// a linear chirp from 100 Hz at n_fft 512 0.013 and 0.0002).
const alignMinEdgeShare = 0.05

// linkMinCoherence is the mean resultant length below which the edges between two regions are
// taken to say nothing about their relative constant (offsets spread over more than about ±70°).
// Measured on espeak-ng speech at n_fft 512 and 1024, hop 128: 0 gives −19.7 / −26.4 dB, 0.3
// −19.4 / −26.2 dB, 0.7 −19.0 / −25.1 dB; at 0 a tone-plus-chirp mel inversion
// (TestInvertMelConverges) gains 0.3 dB less over its iterations, through one incoherent link.
const linkMinCoherence = 0.3

// heapEntry is a heap cell: its key (magnitude) beside its flat index, so that sifting compares
// without looking the key up (the lookups were a third of RTPGHI's frame).
type heapEntry struct {
	key float64
	i   int32
}

// push and pop keep h.heap a binary max-heap by key (typed, no boxing; each bin enters at most
// once per integration, so the capacity frames·bins suffices). They move a hole instead of
// swapping and make the same comparisons as a textbook swap heap, so cells pop in the same order.
func (h *heapGrid) push(i int32) {
	e := heapEntry{h.key[i], i}
	hp := append(h.heap, e)
	j := len(hp) - 1
	for j > 0 {
		p := (j - 1) / 2
		if hp[p].key >= e.key {
			break
		}
		hp[j] = hp[p]
		j = p
	}
	hp[j] = e
	h.heap = hp
}

func (h *heapGrid) pop() int32 {
	hp := h.heap
	top := hp[0].i
	last := len(hp) - 1
	e := hp[last]
	hp = hp[:last]
	n := len(hp)
	j := 0
	for {
		c := 2*j + 1
		if c >= n {
			break
		}
		if c+1 < n && hp[c+1].key > hp[c].key {
			c++
		}
		if !(hp[c].key > e.key) {
			break
		}
		hp[j] = hp[c]
		j = c
	}
	if n > 0 {
		hp[j] = e
	}
	h.heap = hp
	return top
}
