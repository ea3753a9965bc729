package stream

import (
	"math"
	"math/rand/v2"

	"github.com/rephase/rephase/retrieval"
)

// rtpghi is real-time phase-gradient heap integration (Z. Průša, N. Holighaus, "Toward
// high-quality real-time signal reconstruction from STFT magnitude", IEEE SPL 24(6), 2017): the
// phase of one new frame from the phase of the frame before it and the log-magnitude gradient,
// integrated in order of decreasing magnitude over the two frames. The phase-gradient estimates
// are those of offline PGHI (retrieval.PGHI): per hop Δφ_t = (a·N/γ)·∂_k log T + 2π·a·k/N and per
// bin Δφ_f = −(γ/(a·N))·∂_m log T, with ∂_m a centred difference when the next frame is known
// (the one-frame-delay variant) or a backward difference (causal). Phases are in the frame-centre
// convention. It does not allocate after construction.
type rtpghi struct {
	bins      int
	a, n      float64
	gamma     float64
	tol       float64
	havePrev  bool
	prevPhase []float64
	prevTGrad []float64
	prevMag   []float64
	tgrad     []float64
	fgrad     []float64
	done      []bool
	logPrev   []float64
	logCur    []float64
	logNext   []float64
	heap      []heapEntry
	rng       *rand.Rand
	seed      uint64
}

type heapEntry struct {
	mag float64
	k   int32
	cur bool // in the new frame (else the previous one)
}

func newRTPGHI(cfg retrieval.Config, seed uint64) *rtpghi {
	bins := cfg.Bins()
	gamma := cfg.Window.TFR(cfg.WinLength, cfg.GaussTFR)
	if gamma == 0 {
		gamma = retrieval.Hann.TFR(cfg.WinLength, 0)
	}
	r := &rtpghi{
		bins: bins, a: float64(cfg.Hop), n: float64(cfg.NFFT), gamma: gamma, tol: retrieval.PGHITolerance,
		prevPhase: make([]float64, bins), prevTGrad: make([]float64, bins),
		tgrad: make([]float64, bins), fgrad: make([]float64, bins), done: make([]bool, bins),
		logPrev: make([]float64, bins), logCur: make([]float64, bins), logNext: make([]float64, bins),
		heap: make([]heapEntry, 0, 2*bins), seed: seed,
	}
	r.reset()
	return r
}

func (r *rtpghi) reset() {
	r.havePrev = false
	r.rng = rand.New(rand.NewPCG(r.seed, 0x9e3779b97f4a7c15))
}

func logMag(dst, mag []float64, floor float64) {
	for k, v := range mag {
		dst[k] = math.Max(math.Log(v+1e-300), floor)
	}
}

// next writes into phase the frame-centre phase of the frame with magnitudes cur (bins), given
// the frame before it (prev, nil for the first frame of a stream) and the frame after it (next,
// nil for the causal variant), and remembers it as the previous frame of the next call.
func (r *rtpghi) next(phase, prev, cur, next []float64) {
	maxT := 0.0
	for k, v := range cur {
		maxT = math.Max(maxT, v)
		if prev != nil {
			maxT = math.Max(maxT, prev[k])
		}
	}
	thr := r.tol * maxT
	floor := math.Log(thr + 1e-300)
	logMag(r.logCur, cur, floor)
	if prev != nil {
		logMag(r.logPrev, prev, floor)
	}
	if next != nil {
		logMag(r.logNext, next, floor)
	}
	b := r.bins
	for k := 0; k < b; k++ {
		var dk, dm float64
		switch {
		case b == 1:
		case k == 0:
			dk = r.logCur[1] - r.logCur[0]
		case k == b-1:
			dk = r.logCur[k] - r.logCur[k-1]
		default:
			dk = (r.logCur[k+1] - r.logCur[k-1]) / 2
		}
		switch {
		case prev != nil && next != nil:
			dm = (r.logNext[k] - r.logPrev[k]) / 2
		case prev != nil:
			dm = r.logCur[k] - r.logPrev[k]
		case next != nil:
			dm = r.logNext[k] - r.logCur[k]
		}
		r.tgrad[k] = r.a*r.n/r.gamma*dk + 2*math.Pi*r.a*float64(k)/r.n
		r.fgrad[k] = -r.gamma / (r.a * r.n) * dm
	}
	usePrev := prev != nil && r.havePrev
	r.heap = r.heap[:0]
	remaining := 0
	for k, v := range cur {
		if v <= thr {
			r.done[k] = true
			phase[k] = 2 * math.Pi * r.rng.Float64()
			continue
		}
		r.done[k] = false
		remaining++
		if usePrev && prev[k] > thr {
			r.push(heapEntry{prev[k], int32(k), false})
		}
	}
	for remaining > 0 {
		if len(r.heap) == 0 {
			// Nothing to integrate from: start at the largest remaining bin with phase 0.
			best := -1
			for k, v := range cur {
				if !r.done[k] && (best < 0 || v > cur[best]) {
					best = k
				}
			}
			r.done[best] = true
			phase[best] = 0
			remaining--
			r.push(heapEntry{cur[best], int32(best), true})
		}
		e := r.pop()
		k := int(e.k)
		if !e.cur {
			if !r.done[k] {
				r.done[k] = true
				remaining--
				phase[k] = r.prevPhase[k] + (r.prevTGrad[k]+r.tgrad[k])/2
				r.push(heapEntry{cur[k], int32(k), true})
			}
			continue
		}
		if k+1 < b && !r.done[k+1] {
			r.done[k+1] = true
			remaining--
			phase[k+1] = phase[k] + (r.fgrad[k]+r.fgrad[k+1])/2
			r.push(heapEntry{cur[k+1], int32(k + 1), true})
		}
		if k > 0 && !r.done[k-1] {
			r.done[k-1] = true
			remaining--
			phase[k-1] = phase[k] - (r.fgrad[k]+r.fgrad[k-1])/2
			r.push(heapEntry{cur[k-1], int32(k - 1), true})
		}
	}
	copy(r.prevPhase, phase)
	copy(r.prevTGrad, r.tgrad)
	r.havePrev = true
}

// push and pop keep r.heap a binary max-heap by magnitude (no interface boxing, no allocation:
// the capacity 2·bins bounds the entries, each bin entering at most once per frame).
func (r *rtpghi) push(e heapEntry) {
	h := append(r.heap, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].mag >= h[i].mag {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	r.heap = h
}

func (r *rtpghi) pop() heapEntry {
	h := r.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l, big := 2*i+1, i
		if l < len(h) && h[l].mag > h[big].mag {
			big = l
		}
		if l+1 < len(h) && h[l+1].mag > h[big].mag {
			big = l + 1
		}
		if big == i {
			break
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
	r.heap = h
	return top
}
