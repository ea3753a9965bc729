package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
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
	// input dropped. Engine.Budget is divided among the channels, as if one thread ran them all:
	// the pool's parallelism shortens the rounds (headroom against xruns on a loaded machine)
	// instead of buying more iterations.
	Paced bool
	// Reference is the input opened a second time, read in step with the output for the
	// spectral convergence of a compensated paced run (nil: none measured).
	Reference Reader
	// Workers is the number of the pool's threads that run the channels (0: one per channel, at
	// most runtime.GOMAXPROCS(0)).
	Workers int
}

// Stream runs every channel of Input through its own stream.Pipeline into Output, block by
// block (memory independent of the input's length), until the end of the input or ctx's
// cancellation (StreamReport.Interrupted); then it flushes the pipelines, so that the output
// holds everything read. The channels run in parallel, one stream each of a
// stream.MultiPipeline on a Pool of Workers threads, and give what each channel's pipeline gives
// alone. It does not close or commit Input, Output or Reference. Errors are an *InputError for
// the configuration or a failed read of Input, else those of the engine, of Output or of
// Reference.
func Stream(ctx context.Context, cfg StreamConfig) (StreamReport, error) {
	nch, rate := cfg.Input.Channels(), cfg.Input.SampleRate()
	cfg.Engine.SampleRate = rate
	workers := poolWorkers(cfg.Workers, nch)
	if cfg.Paced { // the channels' compute per hop in all, as on one thread: the pool's parallelism is headroom
		cfg.Engine.Budget /= float64(nch)
	}
	s, err := newStreams(cfg.Engine, []Reader{cfg.Input}, []Writer{cfg.Output}, alignment(cfg.Compensate), workers)
	if err != nil {
		return StreamReport{}, err
	}
	defer s.close()
	ch := s.groups[0]
	start := time.Now()
	var rep StreamReport
	if cfg.Paced {
		var ps pacedStats
		ps, err = paced(ctx, s, cfg.Input, cfg.Reference)
		rep.Xruns, rep.InputDropped, rep.Interrupted = &ps.xruns, &ps.dropped, ps.interrupted
	} else {
		rep.Interrupted, err = resynthesize(ctx, s, []Reader{cfg.Input})
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
	withSC := !rep.Interrupted && (!cfg.Paced || cfg.Reference != nil)
	if ch.meters != nil && withSC {
		sc := ch.sc()
		rep.SCDB = &sc
	}
	streams, pool := s.report(rate, secs, withSC)
	rep.Streams, rep.Pool = streams, &pool
	return rep, nil
}

// MultiConfig describes the resynthesis of several inputs, each into its own output.
type MultiConfig struct {
	// Engine is the analysis and engine configuration of every channel of every input;
	// SampleRate is set to the inputs'.
	Engine stream.Config
	// Inputs are the signals, at one sample rate, of any lengths and channel counts; Outputs[i]
	// receives the resynthesis of Inputs[i], as many channels.
	Inputs  []Reader
	Outputs []Writer
	// Compensate aligns each output with its input, as StreamConfig.Compensate does.
	Compensate bool
	// Workers is the number of the pool's threads (0: one per channel, at most
	// runtime.GOMAXPROCS(0)).
	Workers int
}

// StreamMulti runs every channel of every input through its own stream.Pipeline, all of them
// streams of one stream.MultiPipeline on a Pool, block by block: the channels of all inputs share
// the pool's rounds, an input that ends is flushed at once while the others go on, and each
// output is what Stream gives for its input alone (bit for bit with a fixed ItersPerHop). It
// stops reading at ctx's cancellation (MultiReport.Interrupted) and flushes every pipeline. It
// does not close or commit the inputs or outputs. Errors are an *InputError for the
// configuration, inputs of different sample rates (naming them by index) or a failed read, else
// those of an engine or an output. It panics without inputs or with a different number of
// outputs.
func StreamMulti(ctx context.Context, cfg MultiConfig) (MultiReport, error) {
	if len(cfg.Inputs) == 0 || len(cfg.Outputs) != len(cfg.Inputs) {
		panic(fmt.Sprintf("live: StreamMulti of %d inputs into %d outputs", len(cfg.Inputs), len(cfg.Outputs)))
	}
	rate, nch := cfg.Inputs[0].SampleRate(), 0
	for i, r := range cfg.Inputs {
		if r.SampleRate() != rate {
			return MultiReport{}, &InputError{fmt.Errorf("input %d is at %d Hz, input 0 at %d Hz: the inputs need one sample rate", i, r.SampleRate(), rate)}
		}
		nch += r.Channels()
	}
	cfg.Engine.SampleRate = rate
	s, err := newStreams(cfg.Engine, cfg.Inputs, cfg.Outputs, alignment(cfg.Compensate), poolWorkers(cfg.Workers, nch))
	if err != nil {
		return MultiReport{}, err
	}
	defer s.close()
	start := time.Now()
	var rep MultiReport
	if rep.Interrupted, err = resynthesize(ctx, s, cfg.Inputs); err != nil {
		return MultiReport{}, err
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Streams, rep.Pool = s.report(rate, rep.Seconds, !rep.Interrupted)
	return rep, nil
}

// poolWorkers is the pool's size for n streams: workers if > 0, else one per stream, at most
// runtime.GOMAXPROCS(0).
func poolWorkers(workers, n int) int {
	if workers > 0 {
		return workers
	}
	return max(1, min(runtime.GOMAXPROCS(0), n))
}

// streams is every input's channels (a group each), every channel a stream of one
// stream.MultiPipeline, whose rounds take one block of every input at a time.
type streams struct {
	mp      *stream.MultiPipeline
	workers int
	groups  []*channels
	xs      [][]float64 // per stream, the block of the next write
	end     []bool      // per stream, flushed by the next flush
	emit    func(i int, y []float64) error
	closes  []func()
}

// channels is one input's streams: its pipelines, the output's interleaving into the Writer, and
// the spectral-convergence meters.
type channels struct {
	first   int // the MultiPipeline's index of its first channel
	pipes   []*stream.Pipeline
	meters  []*stream.SCMeter // nil without compensation
	bufs    [][]float64       // each channel's output not yet written
	w       Writer
	delay   int64       // leading zeros of the output (the file delay without compensation), else 0
	taken   [][]float64 // take's result, reused
	written int64       // samples per channel written to w
}

func newStreams(cfg stream.Config, inputs []Reader, outputs []Writer, align stream.Alignment, workers int) (*streams, error) {
	s := &streams{workers: workers}
	var pipes []*stream.Pipeline
	var owner []*channels // per stream
	var channel []int
	for g, r := range inputs {
		nch := r.Channels()
		ch := &channels{first: len(pipes), w: outputs[g], bufs: make([][]float64, nch), taken: make([][]float64, nch)}
		s.groups = append(s.groups, ch)
		for c := range nch {
			p, closeAll, err := newPipeline(cfg, align)
			if err != nil {
				s.close()
				return nil, err
			}
			s.closes = append(s.closes, closeAll)
			ch.pipes, pipes = append(ch.pipes, p), append(pipes, p)
			owner, channel = append(owner, ch), append(channel, c)
			if align == stream.Aligned {
				m, err := stream.NewSCMeter(cfg.STFT, int(min(r.Len(), math.MaxInt32)))
				if err != nil {
					s.close()
					return nil, &InputError{err}
				}
				s.closes = append(s.closes, m.Close)
				ch.meters = append(ch.meters, m)
			} else {
				ch.delay = int64(p.Engine().Latency().FileDelay)
			}
		}
	}
	s.mp = stream.NewMultiPipeline(pipes, stream.PoolConfig{Workers: workers})
	s.closes = append([]func(){s.mp.Close}, s.closes...) // the pool stops before the engines close
	s.xs, s.end = make([][]float64, len(pipes)), make([]bool, len(pipes))
	s.emit = func(i int, y []float64) error {
		ch, c := owner[i], channel[i]
		ch.bufs[c] = append(ch.bufs[c], y...)
		return nil
	}
	return s, nil
}

func (s *streams) close() {
	for _, f := range s.closes {
		f()
	}
}

// set makes block (one slice per channel) input g's block of the next write.
func (s *streams) set(g int, block [][]float64) {
	copy(s.xs[s.groups[g].first:], block)
}

// write runs the blocks set since the last write through the pipelines; their output goes to
// the groups' buffers.
func (s *streams) write() error {
	err := s.mp.Write(s.xs, s.emit)
	clear(s.xs)
	return err
}

// writeOne runs one block of the only input.
func (s *streams) writeOne(block [][]float64) error {
	s.set(0, block)
	return s.write()
}

// flush flushes the pipelines of the inputs g with ended[g] (all of them when ended is nil).
func (s *streams) flush(ended []bool) error {
	if ended == nil {
		return s.mp.Flush(nil, s.emit)
	}
	for g, ch := range s.groups {
		for c := range ch.pipes {
			s.end[ch.first+c] = ended[g]
		}
	}
	return s.mp.Flush(s.end, s.emit)
}

// report returns one entry per stream (the spectral convergence if withSC and measured) and the
// pool's figures, after secs seconds of a run at rate Hz.
func (s *streams) report(rate int, secs float64, withSC bool) ([]StreamEntry, PoolReport) {
	var entries []StreamEntry
	audio := 0.0
	pool := s.mp.Pool()
	for g, ch := range s.groups {
		for c, p := range ch.pipes {
			e, i := p.Engine(), ch.first+c
			sec := float64(p.Samples()) / float64(rate)
			audio += sec
			rs := pool.RoundStats(i)
			en := StreamEntry{EngineReport: NewEngineReport(e, sec, e.Stats().Total.Seconds()), InputIndex: g, Channel: c,
				OutputSamples: ch.written, RoundMSP50: ms(rs.Percentile(50)), RoundMSP99: ms(rs.Percentile(99)),
				RoundDeadlineMisses: rs.DeadlineMisses}
			if ch.meters != nil && withSC {
				sc := ch.meters[c].DB()
				en.SCDB = &sc
			}
			entries = append(entries, en)
		}
	}
	r := s.mp.Rounds()
	return entries, PoolReport{Workers: s.workers, Streams: len(entries), Rounds: r.Frames,
		RoundMSP50: ms(r.Percentile(50)), RoundMSP99: ms(r.Percentile(99)), RoundMSMax: ms(r.Max),
		DeadlineMisses: r.DeadlineMisses, RTF: secs / math.Max(audio, 1e-12)}
}

// writeRef feeds one block of the input per channel to the meters.
func (ch *channels) writeRef(block [][]float64) {
	for c, m := range ch.meters {
		m.WriteRef(block[c])
	}
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

// resynthesize streams the inputs rs (s's groups) through the pipelines as fast as they go, Block
// samples of each at a time, flushing each input's pipelines at its end, until every input has
// ended or ctx is cancelled (reported), then flushes the rest.
func resynthesize(ctx context.Context, s *streams, rs []Reader) (interrupted bool, err error) {
	blocks := make([][][]float64, len(rs))
	for g, r := range rs {
		blocks[g] = readBlocks(r.Channels(), Block)
	}
	ended, left := make([]bool, len(rs)), len(rs)
	for ctx.Err() == nil && left > 0 {
		for g, r := range rs {
			if ended[g] {
				continue
			}
			block := blocks[g]
			for c := range block {
				block[c] = block[c][:Block]
			}
			n, err := r.Read(block)
			if errors.Is(err, io.EOF) {
				ended[g], left = true, left-1
				continue
			}
			if err != nil {
				return false, &InputError{err}
			}
			for c := range block {
				block[c] = block[c][:n]
			}
			s.set(g, block)
			s.groups[g].writeRef(block)
		}
		if err := s.write(); err != nil {
			return false, err
		}
		if err := s.flush(ended); err != nil { // no-op for the inputs flushed already
			return false, err
		}
		for _, ch := range s.groups {
			if err := ch.writeTaken(); err != nil {
				return false, err
			}
		}
	}
	interrupted = ctx.Err() != nil
	if err := s.flush(nil); err != nil {
		return interrupted, err
	}
	for _, ch := range s.groups {
		if err := ch.writeTaken(); err != nil {
			return interrupted, err
		}
	}
	return interrupted, nil
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
func paced(ctx context.Context, s *streams, r, ref Reader) (pacedStats, error) {
	var rep pacedStats
	ch := s.groups[0]
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
		if err = s.writeOne(block); err == nil {
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
		if err = s.flush(nil); err == nil {
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

// alignment is the pipeline alignment of StreamConfig.Compensate.
func alignment(compensate bool) stream.Alignment {
	if compensate {
		return stream.Aligned
	}
	return stream.Delayed
}
