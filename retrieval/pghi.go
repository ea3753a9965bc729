package retrieval

import (
	"cmp"
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
)

// PGHITolerance is the relative magnitude below which PGHI does not integrate the phase gradient
// but assigns random phase: bins under PGHITolerance·max(T) carry too little energy for their
// log-magnitude derivatives to mean anything.
const PGHITolerance = 1e-6

// PGHI writes into phase (frames × bins, row-major, radians, frame-centre convention) the phase
// reconstructed from the magnitudes mag by phase-gradient heap integration (Z. Průša, P. Balazs,
// P. L. Søndergaard, "A noniterative method for reconstruction of phase from STFT magnitude",
// IEEE/ACM TASLP 25(5), 2017, Algorithm 1).
//
// For a Gaussian window of time-frequency ratio γ (samples², cfg.Window.TFR) the phase gradient
// follows from the gradient of the log-magnitude: with hop a and N = n_fft, per hop and per bin,
//
//	Δφ_time[m,k] =  (a·N/γ)·∂_k log T[m,k] + 2π·a·k/N
//	Δφ_freq[m,k] = −(γ/(a·N))·∂_m log T[m,k]
//
// (centred differences in index units). Other windows use the γ of the Gaussian they best
// approximate. The phase is integrated outwards from the largest coefficient in order of
// decreasing magnitude (a max-heap), each neighbour taking the trapezoidal step from the bin it
// is reached from. Bins below PGHITolerance·max(T) get uniformly random phase from seed.
// cfg must be resolved. It allocates O(frames·bins).
func PGHI(phase, mag []float64, frames int, cfg Config, seed uint64) {
	bins := cfg.Bins()
	a, n := float64(cfg.Hop), float64(cfg.NFFT)
	gamma := cfg.Window.TFR(cfg.WinLength, cfg.GaussTFR)
	if gamma == 0 {
		gamma = Hann.TFR(cfg.WinLength, 0)
	}
	size := frames * bins
	maxT := 0.0
	for _, v := range mag[:size] {
		maxT = math.Max(maxT, v)
	}
	logs := make([]float64, size)
	floor := math.Log(PGHITolerance*maxT + 1e-300)
	for i, v := range mag[:size] {
		logs[i] = math.Max(math.Log(v+1e-300), floor)
	}
	at := func(m, k int) float64 { return logs[m*bins+k] }
	tgrad := make([]float64, size) // phase advance per hop
	fgrad := make([]float64, size) // phase advance per bin
	for m := 0; m < frames; m++ {
		for k := 0; k < bins; k++ {
			var dk, dm float64
			switch {
			case bins == 1:
			case k == 0:
				dk = at(m, 1) - at(m, 0)
			case k == bins-1:
				dk = at(m, k) - at(m, k-1)
			default:
				dk = (at(m, k+1) - at(m, k-1)) / 2
			}
			switch {
			case frames == 1:
			case m == 0:
				dm = at(1, k) - at(0, k)
			case m == frames-1:
				dm = at(m, k) - at(m-1, k)
			default:
				dm = (at(m+1, k) - at(m-1, k)) / 2
			}
			tgrad[m*bins+k] = a*n/gamma*dk + 2*math.Pi*a*float64(k)/n
			fgrad[m*bins+k] = -gamma / (a * n) * dm
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	done := make([]bool, size)
	remaining := 0
	for i, v := range mag[:size] {
		if v <= PGHITolerance*maxT {
			done[i] = true
			phase[i] = 2 * math.Pi * rng.Float64()
		} else {
			remaining++
		}
	}
	// Visit undone bins from the largest down; each start seeds a heap integration.
	order := make([]int32, 0, remaining)
	for i := range mag[:size] {
		if !done[i] {
			order = append(order, int32(i))
		}
	}
	h := &magHeap{mag: mag}
	sortByMagnitudeDesc(order, mag)
	for _, start := range order {
		if done[start] {
			continue
		}
		done[start] = true
		phase[start] = 0
		heap.Push(h, start)
		for h.Len() > 0 {
			i := int(heap.Pop(h).(int32))
			m, k := i/bins, i%bins
			visit := func(j int, ph float64) {
				if !done[j] {
					done[j] = true
					phase[j] = ph
					heap.Push(h, int32(j))
				}
			}
			if m+1 < frames {
				j := i + bins
				visit(j, phase[i]+(tgrad[i]+tgrad[j])/2)
			}
			if m > 0 {
				j := i - bins
				visit(j, phase[i]-(tgrad[i]+tgrad[j])/2)
			}
			if k+1 < bins {
				j := i + 1
				visit(j, phase[i]+(fgrad[i]+fgrad[j])/2)
			}
			if k > 0 {
				j := i - 1
				visit(j, phase[i]-(fgrad[i]+fgrad[j])/2)
			}
		}
	}
}

// magHeap is a max-heap of flat indices ordered by magnitude.
type magHeap struct {
	mag []float64
	idx []int32
}

func (h *magHeap) Len() int           { return len(h.idx) }
func (h *magHeap) Less(i, j int) bool { return h.mag[h.idx[i]] > h.mag[h.idx[j]] }
func (h *magHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *magHeap) Push(x any)         { h.idx = append(h.idx, x.(int32)) }
func (h *magHeap) Pop() any {
	v := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return v
}

func sortByMagnitudeDesc(idx []int32, mag []float64) {
	slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(mag[b], mag[a]) })
}
