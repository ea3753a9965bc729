package stream

// Resynthesize runs the whole signal x through the analysis a and the engine e (both Reset first,
// same STFT configuration) and returns the engine's output aligned with x: the Latency().FileDelay
// leading samples dropped and the result cut to len(x). It allocates the output and one hop of
// scratch; the per-frame work does not allocate.
func Resynthesize(e *Engine, a *Analyzer, x []float64) ([]float64, error) {
	if err := checkSameSTFT(a.Config(), e.Config().STFT); err != nil {
		return nil, err
	}
	a.Reset()
	e.Reset()
	delay := e.Latency().FileDelay
	out := make([]float64, 0, len(x)+delay+e.FlushLen()+e.Hop())
	hop := make([]float64, e.Hop())
	push := func(mag []float64) error {
		if err := e.Push(hop, mag); err != nil {
			return err
		}
		out = append(out, hop...)
		return nil
	}
	if err := a.Write(x, push); err != nil {
		return nil, err
	}
	if err := a.Flush(push); err != nil {
		return nil, err
	}
	tail := make([]float64, e.FlushLen())
	e.Flush(tail)
	out = append(out, tail...)
	out = out[delay:]
	if len(out) > len(x) {
		out = out[:len(x)]
	}
	return out, nil
}
