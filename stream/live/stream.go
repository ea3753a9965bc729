package live

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rephase/rephase/ringbuffer"
	"github.com/rephase/rephase/stream"
)

// Reader is a multi-channel signal read block by block (*wav.Reader implements it).
type Reader interface {
	// Read fills each channel's slice of dst (all of the same length) from the current
	// position and returns the samples per channel read; io.EOF at the end.
	Read(dst [][]float64) (int, error)
	Channels() int
	SampleRate() int // Hz
	Len() int64      // samples per channel
	Pos() int64      // samples per channel read so far
}

// Writer takes the output block by block, one slice per channel (*wav.Writer implements it).
type Writer interface {
	Write(block [][]float64) error
}

// StreamConfig describes a multi-channel resynthesis.
type StreamConfig struct {
	// Engine is the analysis and engine configuration of every channel; SampleRate is set to
	// the Input's.
	Engine stream.Config
	// Input is the signal; Output receives the resynthesis, as many channels.
	Input  Reader
	Output Writer
	// Compensate aligns the output with the input (stream.Pipeline): the engine's delay is
	// dropped, the output as long as the input, and its spectral convergence measured. Without,
	// the output starts with the file delay's zeros.
	Compensate bool
	// Paced feeds the input through a ring at the sample rate, as an input callback would, and
	// drains the output through a second ring at the sample rate, counting the xruns and the
	// input dropped. The channels share one worker: Engine.Budget is divided among them.
	Paced bool
	// Reference is the input opened a second time, read in step with the output for the
	// spectral convergence of a compensated paced run (nil: none measured).
	Reference Reader
}

// Stream runs every channel of Input through its own stream.Pipeline into Output, block by
// block (memory independent of the input's length), until the end of the input or ctx's
// cancellation (StreamReport.Interrupted); then it flushes the pipelines, so that the output
// holds everything read. It does not close or commit Input, Output or Reference. Errors are an
// *InputError for the configuration or a failed read of Input, else those of the engine, of
// Output or of Reference.
func Stream(ctx context.Context, cfg StreamConfig) (StreamReport, error) {
	nch, rate := cfg.Input.Channels(), cfg.Input.SampleRate()
	cfg.Engine.SampleRate = rate
	if cfg.Paced {
		cfg.Engine.Budget /= float64(nch) // one worker runs every channel's engine within the hop
	}
	align := stream.Delayed
	if cfg.Compensate {
		align = stream.Aligned
	}
	ch, err := newChannels(cfg.Engine, nch, align, cfg.Input.Len(), cfg.Output)
	if err != nil {
		return StreamReport{}, err
	}
	defer ch.close()
	start := time.Now()
	var rep StreamReport
	if cfg.Paced {
		var ps pacedStats
		ps, err = paced(ctx, ch, cfg.Input, cfg.Reference)
		rep.Xruns, rep.InputDropped, rep.Interrupted = &ps.xruns, &ps.dropped, ps.interrupted
	} else {
		rep.Interrupted, err = resynthesize(ctx, ch, cfg.Input)
	}
	if err != nil {
		return StreamReport{}, err
	}
	secs := time.Since(start).Seconds()
	p := ch.pipes[0]
	rep.EngineReport = NewEngineReport(p.Engine(), float64(p.Samples()*nch)/float64(rate), secs)
	if cfg.Paced {
		rep.RTF = math.NaN() // paced: wall time equals audio time by construction
	}
	rep.Channels, rep.Seconds, rep.OutputSamples = nch, secs, ch.written
	rep.Stats = *p.Engine().Stats()
	if ch.meters != nil && !rep.Interrupted && (!cfg.Paced || cfg.Reference != nil) {
		sc := ch.sc()
		rep.SCDB = &sc
	}
	return rep, nil
}

// channels is one analysis → engine pipeline per channel run in lockstep, the output's
// interleaving into the Writer, and the spectral-convergence meters.
type channels struct {
	pipes   []*stream.Pipeline
	meters  []*stream.SCMeter // nil without compensation
	bufs    [][]float64       // each channel's output not yet written
	w       Writer
	emits   []func([]float64) error
	closes  []func()
	delay   int64       // leading zeros of the output (the file delay without compensation), else 0
	taken   [][]float64 // take's result, reused
	written int64       // samples per channel written to w
}

func newChannels(cfg stream.Config, nch int, align stream.Alignment, length int64, w Writer) (*channels, error) {
	ch := &channels{w: w, bufs: make([][]float64, nch), taken: make([][]float64, nch)}
	for c := range nch {
		p, closeAll, err := newPipeline(cfg, align)
		if err != nil {
			ch.close()
			return nil, err
		}
		ch.closes = append(ch.closes, closeAll)
		ch.pipes = append(ch.pipes, p)
		if align == stream.Aligned {
			m, err := stream.NewSCMeter(cfg.STFT, int(min(length, math.MaxInt32)))
			if err != nil {
				ch.close()
				return nil, &InputError{err}
			}
			ch.closes = append(ch.closes, m.Close)
			ch.meters = append(ch.meters, m)
		} else {
			ch.delay = int64(p.Engine().Latency().FileDelay)
		}
		ch.emits = append(ch.emits, func(y []float64) error { ch.bufs[c] = append(ch.bufs[c], y...); return nil })
	}
	return ch, nil
}

func (ch *channels) close() {
	for _, f := range ch.closes {
		f()
	}
}

// write feeds one block per channel (the same length) to the pipelines.
func (ch *channels) write(block [][]float64) error {
	for c, p := range ch.pipes {
		if err := p.Write(block[c], ch.emits[c]); err != nil {
			return err
		}
	}
	return nil
}

// writeRef feeds one block of the input per channel to the meters.
func (ch *channels) writeRef(block [][]float64) {
	for c, m := range ch.meters {
		m.WriteRef(block[c])
	}
}

// flush flushes every pipeline.
func (ch *channels) flush() error {
	for c, p := range ch.pipes {
		if err := p.Flush(ch.emits[c]); err != nil {
			return err
		}
	}
	return nil
}

// take returns the output every channel has produced (the same count for all: the pipelines run
// in lockstep), to be written out; the next call reuses the slice.
func (ch *channels) take() [][]float64 {
	n := len(ch.bufs[0])
	for c := range ch.bufs {
		n = min(n, len(ch.bufs[c]))
	}
	for c := range ch.bufs {
		ch.taken[c] = ch.bufs[c][:n]
	}
	return ch.taken
}

// drop forgets the first n samples of every channel's buffer (after they were written).
func (ch *channels) drop(n int) {
	for c := range ch.bufs {
		ch.bufs[c] = append(ch.bufs[c][:0], ch.bufs[c][n:]...)
	}
}

// writeOut writes y to the Writer and the meters' estimates.
func (ch *channels) writeOut(y [][]float64) error {
	if err := ch.w.Write(y); err != nil {
		return err
	}
	for c, m := range ch.meters {
		m.WriteEst(y[c])
	}
	ch.written += int64(len(y[0]))
	return nil
}

// writeTaken writes the buffered output and forgets it.
func (ch *channels) writeTaken() error {
	y := ch.take()
	n := len(y[0])
	if n == 0 {
		return nil
	}
	if err := ch.writeOut(y); err != nil {
		return err
	}
	ch.drop(n)
	return nil
}

// sc is the channels' mean spectral convergence (dB).
func (ch *channels) sc() float64 {
	s := 0.0
	for _, m := range ch.meters {
		s += m.DB()
	}
	return s / float64(len(ch.meters))
}

// readBlocks returns nch blocks of n samples.
func readBlocks(nch, n int) [][]float64 {
	b := make([][]float64, nch)
	for c := range b {
		b[c] = make([]float64, n)
	}
	return b
}

// resynthesize streams r through the pipelines as fast as they go, Block samples at a time,
// until the end of r or ctx's cancellation (reported), then flushes them.
func resynthesize(ctx context.Context, ch *channels, r Reader) (interrupted bool, err error) {
	block := readBlocks(r.Channels(), Block)
	for ctx.Err() == nil {
		n, err := r.Read(block)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, &InputError{err}
		}
		for c := range block {
			block[c] = block[c][:n]
		}
		if err := ch.write(block); err != nil {
			return false, err
		}
		ch.writeRef(block)
		if err := ch.writeTaken(); err != nil {
			return false, err
		}
		for c := range block {
			block[c] = block[c][:Block]
		}
	}
	interrupted = ctx.Err() != nil
	if err := ch.flush(); err != nil {
		return interrupted, err
	}
	return interrupted, ch.writeTaken()
}

// pacedStats is what a paced run counts.
type pacedStats struct {
	xruns       uint64 // output underruns (hops)
	dropped     uint64 // input samples per channel lost because the input ring was full
	interrupted bool
}

// gap is input the producer dropped: n samples per channel, lost after the first at samples per
// channel that reached the ring.
type gap struct{ at, n int64 }

// gaps is the producer's record of the input it dropped, in order, which the worker consumes.
type gaps struct {
	mu   sync.Mutex
	list []gap
}

// add records n samples per channel dropped after at, merged with a gap at the same place.
func (g *gaps) add(at, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if k := len(g.list) - 1; k >= 0 && g.list[k].at == at {
		g.list[k].n += n
	} else {
		g.list = append(g.list, gap{at, n})
	}
}

// first returns the oldest gap not yet consumed.
func (g *gaps) first() (gap, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.list) == 0 {
		return gap{}, false
	}
	return g.list[0], true
}

// pop consumes the oldest gap.
func (g *gaps) pop() {
	g.mu.Lock()
	g.list = g.list[1:]
	g.mu.Unlock()
}

// paced feeds r through a ring buffer at the sample rate (a producer goroutine writing one hop
// of every channel per hop duration, as an input callback would), runs the pipelines on a worker
// reading that ring, writes the output into a second ring drained at the sample rate by a
// consumer goroutine (an output callback), and counts the consumer's underruns (xruns). A hop
// that finds the input ring full is dropped whole and counted (a device whose worker cannot keep
// up loses input the same way); the output keeps the input's length, with silence where the
// input was lost. The output (and the spectral-convergence reference, read from ref) is written
// as the worker produces it. When ctx is cancelled or the worker fails, the producer stops at
// once.
func paced(ctx context.Context, ch *channels, r, ref Reader) (pacedStats, error) {
	var rep pacedStats
	nch, rate := r.Channels(), r.SampleRate()
	hop := ch.pipes[0].Engine().Hop()
	length := r.Len()
	period := time.Duration(float64(hop) / float64(rate) * float64(time.Second))
	frame := hop * nch // one hop of every channel, interleaved
	inP, inC := ringbuffer.New(16 * frame)
	outP, outC := ringbuffer.New(16 * frame)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if ch.meters == nil {
		ref = nil
	}
	var refBlock [][]float64
	if ref != nil {
		refBlock = make([][]float64, nch)
	}
	var lost gaps
	var dropped atomic.Uint64
	var readErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // input "callback"
		defer wg.Done()
		defer inP.Close()
		block := readBlocks(nch, hop)
		buf := make([]float32, frame)
		var written int64 // samples per channel in the ring so far
		timer := time.NewTimer(0)
		<-timer.C
		next := time.Now()
		for {
			n, err := r.Read(block)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				readErr = err
				cancel()
				return
			}
			for i := range hop {
				for c := range nch {
					v := 0.0
					if i < n {
						v = block[c][i]
					}
					buf[i*nch+c] = float32(v) // a device delivers whole buffers: silence after the end
				}
			}
			if inP.Free() >= frame {
				inP.Write(buf)
				written += int64(n)
			} else { // the worker is behind: this hop is lost
				dropped.Add(uint64(n))
				lost.add(written, int64(n))
			}
			if r.Pos() >= length {
				return
			}
			next = next.Add(period)
			timer.Reset(time.Until(next))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
	}()
	var xruns atomic.Uint64
	var workerDone atomic.Bool
	go func() { // output "callback": starts one hop after the first output, then one hop per period
		defer wg.Done()
		buf := make([]float32, frame)
		for outC.Available() < frame && !workerDone.Load() {
			time.Sleep(period / 16)
		}
		// Half a period of margin against scheduling jitter, within the one hop of block
		// buffering that Latency().AudioToAudio counts.
		next := time.Now().Add(period / 2)
		time.Sleep(period / 2)
		for {
			done := workerDone.Load() // before reading: whatever the worker wrote is visible
			if outC.Read(buf) < frame {
				if done {
					return
				}
				xruns.Add(1)
			}
			next = next.Add(period)
			time.Sleep(time.Until(next))
		}
	}()

	var outPos int64 // output samples per channel written
	// ringPos is the output's position in the ring's (the input's) time, gaps excluded: without
	// compensation the output starts with ch.delay zeros that precede the input.
	ringPos := -ch.delay
	var out32 []float32
	// emit writes y (per channel) to the output, the meters (with the reference read alongside)
	// and the output ring, up to the output's length: the input's plus the leading zeros (the
	// producer zero-pads the last hop).
	emit := func(y [][]float64) error {
		n := int(max(0, min(int64(len(y[0])), length+ch.delay-outPos)))
		if n == 0 {
			return nil
		}
		for c := range y {
			y[c] = y[c][:n]
		}
		if ref != nil {
			for c := range refBlock {
				refBlock[c] = slices.Grow(refBlock[c][:0], n)[:n]
			}
			if _, err := ref.Read(refBlock); err != nil {
				return err
			}
			ch.writeRef(refBlock)
		}
		if err := ch.writeOut(y); err != nil {
			return err
		}
		out32 = slices.Grow(out32[:0], n*nch)[:n*nch]
		for c := range y {
			for i, v := range y[c] {
				out32[i*nch+c] = float32(v)
			}
		}
		outP.Write(out32)
		outPos += int64(n)
		return nil
	}
	zeros := make([][]float64, nch)
	part := make([][]float64, nch)
	// write passes y (per channel, the output for ring samples [ringPos, ringPos+len)) to emit,
	// with the silence of every gap it reaches spliced in where the input was lost.
	write := func(y [][]float64) error {
		for {
			g, has := lost.first()
			k := int64(len(y[0]))
			if has {
				k = min(k, g.at-ringPos)
			}
			for c := range y {
				part[c], y[c] = y[c][:k], y[c][k:]
			}
			if err := emit(part); err != nil {
				return err
			}
			ringPos += k
			if !has || ringPos < g.at {
				return nil
			}
			for c := range zeros {
				if int64(len(zeros[c])) < g.n {
					zeros[c] = make([]float64, g.n)
				}
				part[c] = zeros[c][:g.n]
			}
			if err := emit(part); err != nil {
				return err
			}
			lost.pop()
		}
	}
	// The worker.
	in32 := make([]float32, frame)
	block := readBlocks(nch, hop)
	var err error
	for err == nil {
		n, done := inC.ReadFull(in32)
		for c := range block {
			block[c] = block[c][:n/nch]
			for i := range block[c] {
				block[c][i] = float64(in32[i*nch+c])
			}
		}
		if err = ch.write(block); err == nil {
			y := ch.take()
			n := len(y[0])
			err = write(y)
			ch.drop(n)
		}
		if done {
			break
		}
	}
	stopped := ctx.Err() != nil
	if err == nil {
		if err = ch.flush(); err == nil {
			err = write(ch.take())
		}
	}
	workerDone.Store(true)
	cancel() // stops the producer at once if the worker failed
	inC.Close()
	wg.Wait() // readErr is the producer's until it is done
	rep.interrupted = stopped && readErr == nil && err == nil
	if readErr != nil {
		return rep, &InputError{readErr}
	}
	if err != nil {
		return rep, err
	}
	rep.xruns, rep.dropped = xruns.Load(), dropped.Load()
	return rep, nil
}
