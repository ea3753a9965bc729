package stream

import (
	"github.com/rephase/rephase/retrieval"
)

// rtpghi is the engine's RTPGHI warm start: a thin adapter over retrieval.RTPGHI (real-time
// phase-gradient heap integration, Z. Průša, N. Holighaus, IEEE SPL 24(6), 2017), which shares
// its phase-gradient estimate and heap integration with offline PGHI (retrieval.PGHI). Phases are
// in the frame-centre convention. It does not allocate after construction.
type rtpghi struct {
	r *retrieval.RTPGHI
}

// newRTPGHI plans RTPGHI for the resolved STFT cfg with retrieval.PGHITolerance and seed for the
// random phase of negligible bins.
func newRTPGHI(cfg retrieval.Config, seed uint64) *rtpghi {
	r, err := retrieval.NewRTPGHI(cfg, retrieval.PGHITolerance, seed)
	if err != nil {
		panic("stream: " + err.Error()) // cfg was resolved by Config.Resolve
	}
	return &rtpghi{r: r}
}

func (p *rtpghi) reset() { p.r.Reset() }

// next writes into phase the frame-centre phase of the frame with magnitudes cur (bins), given
// the frame before it (prev, nil for the first frame of a stream) and the frame after it (next,
// nil for the causal variant); see retrieval.RTPGHI.Frame.
func (p *rtpghi) next(phase, prev, cur, next []float64) { p.r.Frame(phase, prev, cur, next) }
