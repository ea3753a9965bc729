package live

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rephase/rephase/retrieval"
)

// memReader is a Reader over channels in memory; failAt > 0 makes a read that reaches that
// position fail.
type memReader struct {
	ch     [][]float64
	pos    int64
	failAt int64
	hz     int // the sample rate, 0: rate
}

func (r *memReader) Channels() int { return len(r.ch) }
func (r *memReader) SampleRate() int {
	if r.hz > 0 {
		return r.hz
	}
	return rate
}
func (r *memReader) Len() int64 { return int64(len(r.ch[0])) }
func (r *memReader) Pos() int64 { return r.pos }

var errBadBlock = errors.New("bad block")

func (r *memReader) Read(dst [][]float64) (int, error) {
	if r.pos >= r.Len() {
		return 0, io.EOF
	}
	n := min(len(dst[0]), int(r.Len()-r.pos))
	if r.failAt > 0 && r.pos+int64(n) >= r.failAt {
		return 0, errBadBlock
	}
	for c := range dst {
		copy(dst[c], r.ch[c][r.pos:r.pos+int64(n)])
	}
	r.pos += int64(n)
	return n, nil
}

// memWriter keeps the output; stall delays its first write.
type memWriter struct {
	ch    [][]float64
	stall time.Duration
}

func (w *memWriter) Write(block [][]float64) error {
	if w.stall > 0 {
		time.Sleep(w.stall)
		w.stall = 0
	}
	if w.ch == nil {
		w.ch = make([][]float64, len(block))
	}
	for c := range block {
		w.ch[c] = append(w.ch[c], block[c]...)
	}
	return nil
}

// stereo is two different channels of n samples.
func stereo(n int) [][]float64 {
	a := chirp(n)
	b := retrieval.LogChirp(n, rate, 2500, 300)
	for i := range b {
		b[i] *= 0.5
	}
	return [][]float64{a, b}
}

// TestStreamFileMode: every channel of the output is that channel's compensated resynthesis,
// as long as the input; the report counts the samples, the channels and the spectral
// convergence (the mean of the channels').
func TestStreamFileMode(t *testing.T) {
	cfg := engineConfig()
	in := stereo(9000)
	var w memWriter
	r, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &w, Compensate: true})
	if err != nil {
		t.Fatal(err)
	}
	var scs float64
	for c := range in {
		want := aligned(t, cfg, in[c])
		got := float32s(w.ch[c])
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("channel %d differs from its resynthesis at %d", c, i)
		}
		scs += retrieval.STFTSpectralConvergenceDB(cfg.STFT, in[c], w.ch[c]) / 2
	}
	if r.Channels != 2 || r.OutputSamples != 9000 || r.SCDB == nil || r.Xruns != nil || r.InputDropped != nil || r.Interrupted {
		t.Fatalf("report %+v", r)
	}
	// The meters' SC is the STFT one over Full framing of the same signals, within rounding.
	t.Logf("SC %.2f dB (meters), %.2f dB (retrieval)", *r.SCDB, scs)
	if *r.SCDB > -10 || math.Abs(*r.SCDB-scs) > 1 {
		t.Errorf("SC %.2f dB, retrieval's %.2f dB", *r.SCDB, scs)
	}
	// Without compensation: the file delay's zeros, then the same samples.
	var u memWriter
	r, err = Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &u})
	if err != nil {
		t.Fatal(err)
	}
	d := r.FileDelaySamples
	if r.OutputSamples != int64(9000+d) || r.SCDB != nil {
		t.Fatalf("uncompensated: %d samples, SC %v", r.OutputSamples, r.SCDB)
	}
	for c := range in {
		if i := firstDiff(float32s(u.ch[c][d:]), float32s(w.ch[c])); i >= 0 || math.Abs(maxAbs(u.ch[c][:d])) != 0 {
			t.Errorf("channel %d without compensation: differs at %d after the delay, peak %g inside it", c, i, maxAbs(u.ch[c][:d]))
		}
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// TestStreamPacedMatchesFileMode: paced through the rings at the sample rate with a fixed K,
// a run that loses no input writes the same samples as file mode (with and without
// compensation), with the same spectral convergence read from the reference.
func TestStreamPacedMatchesFileMode(t *testing.T) {
	cfg := engineConfig()
	in := stereo(4000) // a quarter second
	for c := range in {
		in[c] = float64s(float32s(in[c])) // what the float32 rings carry exactly
	}
	for _, comp := range []bool{true, false} {
		var file, paced memWriter
		rf, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &file, Compensate: comp})
		if err != nil {
			t.Fatal(err)
		}
		rp, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &paced, Compensate: comp,
			Paced: true, Reference: &memReader{ch: in}})
		if err != nil {
			t.Fatal(err)
		}
		if rp.Xruns == nil || rp.InputDropped == nil || !math.IsNaN(rp.RTF) {
			t.Fatalf("paced report %+v", rp)
		}
		t.Logf("compensate %v: %d xruns, %d input samples dropped", comp, *rp.Xruns, *rp.InputDropped)
		if *rp.InputDropped > 0 {
			t.Skip("the machine is too slow to keep up: input dropped")
		}
		for c := range in {
			if i := firstDiff(float32s(paced.ch[c]), float32s(file.ch[c])); i >= 0 {
				t.Errorf("compensate %v, channel %d: paced output differs from file mode at %d", comp, c, i)
			}
		}
		if (rf.SCDB == nil) != (rp.SCDB == nil) || rf.SCDB != nil && *rf.SCDB != *rp.SCDB {
			t.Errorf("compensate %v: SC %v paced, %v file mode", comp, deref(rp.SCDB), deref(rf.SCDB))
		}
	}
}

// TestStreamPacedDropsInput: a worker stalled for 300 ms (37 hops; the input ring holds 16)
// loses input, counted; the output keeps the input's length, with silence where it was lost.
func TestStreamPacedDropsInput(t *testing.T) {
	cfg := engineConfig()
	in := [][]float64{chirp(12000)}
	w := memWriter{stall: 300 * time.Millisecond}
	r, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &w, Compensate: true,
		Paced: true, Reference: &memReader{ch: in}})
	if err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range w.ch[0] {
		if v == 0 {
			zeros++
		}
	}
	t.Logf("%d input samples dropped, %d xruns, %d zeros in the output, SC %.2f dB", *r.InputDropped, *r.Xruns, zeros, *r.SCDB)
	if *r.InputDropped < 10*128 || r.OutputSamples != 12000 || len(w.ch[0]) != 12000 || uint64(zeros) < *r.InputDropped {
		t.Errorf("dropped %d, output %d samples (%d zeros), want > 1280 dropped, 12000 samples, ≥ dropped zeros",
			*r.InputDropped, len(w.ch[0]), zeros)
	}
	if math.IsNaN(*r.SCDB) {
		t.Error("SC is NaN")
	}
}

// TestStreamErrorsAndInterruption: a failed read is an *InputError in both modes; a cancelled
// context ends the run with the output of what was read and no SC.
func TestStreamErrorsAndInterruption(t *testing.T) {
	cfg := engineConfig()
	in := [][]float64{chirp(20000)}
	for _, paced := range []bool{false, true} {
		var ie *InputError
		_, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in, failAt: 9000}, Output: &memWriter{},
			Compensate: true, Paced: paced})
		if !errors.As(err, &ie) || !errors.Is(err, errBadBlock) {
			t.Errorf("paced %v: read error gave %v", paced, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancelWriter{cancel: cancel}
		r, err := Stream(ctx, StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: w, Compensate: true, Paced: paced,
			Reference: &memReader{ch: in}})
		cancel()
		if err != nil || !r.Interrupted || r.SCDB != nil || r.OutputSamples >= 20000 || r.OutputSamples != w.n {
			t.Errorf("paced %v, cancelled: %v, interrupted %v, SC %v, %d samples (%d written)", paced, err, r.Interrupted, r.SCDB, r.OutputSamples, w.n)
		}
	}
	bad := cfg
	bad.STFT.NFFT = 0
	bad.STFT.Hop = -1
	var ie *InputError
	if _, err := Stream(context.Background(), StreamConfig{Engine: bad, Input: &memReader{ch: in}, Output: &memWriter{}}); !errors.As(err, &ie) {
		t.Errorf("bad configuration: %v, want an *InputError", err)
	}
}

// cancelWriter cancels its context at its first write.
type cancelWriter struct {
	cancel func()
	n      int64
}

func (w *cancelWriter) Write(block [][]float64) error {
	w.cancel()
	w.n += int64(len(block[0]))
	return nil
}

// deref is *p, NaN for nil.
func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestStreamMulti: a stereo and a shorter mono input run in one pool give, bit for bit, what
// Stream gives for each alone (which is what each channel's pipeline gives alone,
// TestStreamFileMode), with and without compensation; the report has one entry per channel,
// each counting its frames, and the pool's rounds as many as the longest stream's frames at
// least; a cancelled run flushes every input. Inputs of different sample rates are an
// *InputError naming them.
func TestStreamMulti(t *testing.T) {
	cfg := engineConfig()
	ins := [][][]float64{stereo(9000), {chirp(5000)}}
	for _, comp := range []bool{true, false} {
		outs := []*memWriter{{}, {}}
		r, err := StreamMulti(context.Background(), MultiConfig{Engine: cfg, Inputs: []Reader{&memReader{ch: ins[0]}, &memReader{ch: ins[1]}},
			Outputs: []Writer{outs[0], outs[1]}, Compensate: comp, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Streams) != 3 || r.Pool.Streams != 3 || r.Pool.Workers != 2 || r.Interrupted {
			t.Fatalf("report %+v", r)
		}
		for g, in := range ins {
			var alone memWriter
			ra, err := Stream(context.Background(), StreamConfig{Engine: cfg, Input: &memReader{ch: in}, Output: &alone, Compensate: comp})
			if err != nil {
				t.Fatal(err)
			}
			for c := range in {
				if !slices.Equal(outs[g].ch[c], alone.ch[c]) {
					t.Errorf("compensate %v: input %d, channel %d differs from Stream alone", comp, g, c)
				}
			}
			e := r.Streams[len(ins[0])*g]
			if e.InputIndex != g || e.Channel != 0 || e.OutputSamples != ra.OutputSamples || e.Frames != ra.Frames || (e.SCDB != nil) != comp {
				t.Errorf("input %d: entry %+v, alone %d samples, %d frames", g, e, ra.OutputSamples, ra.Frames)
			}
			if comp && math.Abs(*e.SCDB-*ra.Streams[0].SCDB) > 1e-9 {
				t.Errorf("input %d: SC %.3f dB, alone %.3f dB", g, *e.SCDB, *ra.Streams[0].SCDB)
			}
		}
		if r.Pool.Rounds < r.Streams[0].Frames || r.Pool.RoundMSP50 <= 0 || r.Pool.RoundMSP50 > r.Pool.RoundMSMax {
			t.Errorf("pool %+v for %d frames", r.Pool, r.Streams[0].Frames)
		}
	}
	// Cancelled at the first output: every input stops, is flushed, and its output is complete.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := [][]float64{chirp(40000)}
	ws := []*cancelWriter{{cancel: cancel}, {cancel: cancel}}
	r, err := StreamMulti(ctx, MultiConfig{Engine: cfg, Inputs: []Reader{&memReader{ch: long}, &memReader{ch: long}},
		Outputs: []Writer{ws[0], ws[1]}, Compensate: true})
	if err != nil || !r.Interrupted || r.Streams[0].SCDB != nil {
		t.Fatalf("cancelled: %v, interrupted %v", err, r.Interrupted)
	}
	for g, w := range ws {
		if e := r.Streams[g]; w.n != e.OutputSamples || w.n != Block {
			t.Errorf("cancelled: output %d has %d samples (%d reported), want the %d read", g, w.n, e.OutputSamples, Block)
		}
	}
	var ie *InputError
	_, err = StreamMulti(context.Background(), MultiConfig{Engine: cfg, Inputs: []Reader{&memReader{ch: ins[1]}, &memReader{ch: ins[1], hz: 22050}},
		Outputs: []Writer{&memWriter{}, &memWriter{}}})
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "input 1 is at 22050 Hz") {
		t.Errorf("two sample rates: %v", err)
	}
}
