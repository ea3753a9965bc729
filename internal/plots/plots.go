// Package plots draws rephase's figures as PNG images with gonum.org/v1/plot: the figure of an
// offline inversion (original, reconstruction and error spectrograms and the convergence curve,
// what `rephase invert --plot` writes), the figure of a streaming run (the same spectrograms and a
// histogram of the per-hop compute, `rephase stream --plot`), single spectrograms with a colour
// bar, and the layout pieces the benchmark report shares: a legend drawn beside the data instead
// of over it, log-axis ticks labelled at 1, 2 and 5 per decade, and axis padding that keeps edge
// markers inside the frame.
//
// Spectrograms are frames × bins, row-major, linear magnitudes of the unnormalised DFT
// (docs/design.md, "Conventions"); they are drawn in dB relative to the original's peak, over a
// fixed dynamic range, so that the three panels of a figure share one colour scale. The functions
// allocate their images (a figure is about 1200 × 800 pixels, a few MB while drawing) and are safe
// for concurrent use on distinct arguments.
package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/rephase/rephase/retrieval"
)

// DefaultRangeDB is the dynamic range of the spectrogram panels when Spectra.RangeDB is 0: levels
// more than 80 dB below the original's peak are drawn in the palette's darkest colour.
const DefaultRangeDB = 80

// maxColumns bounds the columns of a drawn spectrogram: longer spectrograms are drawn with each
// column the maximum over a run of consecutive frames, so that memory and drawing time stay
// bounded (a panel is about 500 pixels wide).
const maxColumns = 1500

// Figure sizes: two panels by two.
const (
	FigureWidth  = 12 * vg.Inch
	FigureHeight = 8 * vg.Inch
)

// Spectra are two magnitude spectrograms on one STFT grid: an original (the target of an
// inversion, or the input of a stream) and an output (the |STFT| of the reconstruction, same
// framing). Frame m is centred at (m·Hop − STFT.Padding() + NFFT/2) / SampleRate seconds and
// bin k at k·SampleRate/NFFT Hz.
type Spectra struct {
	STFT       retrieval.Config // resolved (Resolve): NFFT, Hop, Framing
	SampleRate int              // Hz, > 0
	Original   []float64        // frames × STFT.Bins(), linear magnitudes
	Output     []float64        // the same shape
	RangeDB    float64          // dynamic range of the panels (dB below the original's peak); 0 means DefaultRangeDB
}

// Analyse returns the Spectra of two signals at rate Hz under cfg's n_fft, hop, win_length and
// window, with centre framing and reflect padding whatever cfg's framing (the framing of
// retrieval.STFTSpectralConvergenceDB, so that a figure shows what the reported SC measures).
// output is cut or zero-padded to len(original). It returns an error for a configuration that does
// not resolve or a signal shorter than it needs.
func Analyse(cfg retrieval.Config, rate int, original, output []float64) (Spectra, error) {
	c := cfg
	c.Framing, c.Pad = retrieval.Center, retrieval.Reflect
	c, err := c.Resolve()
	if err != nil {
		return Spectra{}, err
	}
	s, err := retrieval.NewSTFT(c, len(original))
	if err != nil {
		return Spectra{}, err
	}
	defer s.Close()
	y := output
	if len(y) != len(original) {
		y = make([]float64, len(original))
		copy(y, output)
	}
	return Spectra{STFT: c, SampleRate: rate, Original: s.Magnitude(nil, original), Output: s.Magnitude(nil, y)}, nil
}

// check panics on Spectra a caller built inconsistently.
func (s Spectra) check() {
	b := s.STFT.Bins()
	if s.STFT.NFFT < 2 || s.STFT.Hop < 1 || s.SampleRate <= 0 {
		panic(fmt.Sprintf("plots: Spectra needs a resolved STFT and a sample rate (n_fft %d, hop %d, %d Hz)", s.STFT.NFFT, s.STFT.Hop, s.SampleRate))
	}
	if len(s.Original) == 0 || len(s.Original)%b != 0 || len(s.Output) != len(s.Original) {
		panic(fmt.Sprintf("plots: spectrograms of %d and %d values are not the same whole number of %d-bin frames", len(s.Original), len(s.Output), b))
	}
}

// rangeDB returns the dynamic range of the panels.
func (s Spectra) rangeDB() float64 {
	if s.RangeDB > 0 {
		return s.RangeDB
	}
	return DefaultRangeDB
}

// Panel selects one spectrogram of a Spectra.
type Panel int

const (
	Original Panel = iota // the original magnitudes
	Output                // the output's magnitudes
	Error                 // |Output − Original| per cell
)

// grid returns panel which of s as a heat-map grid in dB relative to the original's peak, and its
// default title.
func (s Spectra) grid(which Panel) (specGrid, string) {
	s.check()
	bins := s.STFT.Bins()
	frames := len(s.Original) / bins
	peak := 0.0
	for _, v := range s.Original {
		peak = math.Max(peak, v)
	}
	if peak == 0 {
		peak = 1
	}
	src, title := s.Original, "original"
	switch which {
	case Output:
		src, title = s.Output, "reconstruction"
	case Error:
		src = make([]float64, len(s.Original))
		for i, v := range s.Original {
			src[i] = math.Abs(s.Output[i] - v)
		}
		title = fmt.Sprintf("error |output − original| (SC %.1f dB)", retrieval.DB(retrieval.SpectralConvergence(s.Output, s.Original)))
	}
	group := (frames + maxColumns - 1) / maxColumns
	cols := (frames + group - 1) / group
	floor := -s.rangeDB()
	g := specGrid{db: make([]float64, cols*bins), cols: cols, bins: bins,
		t0: float64(s.STFT.NFFT/2-s.STFT.Padding()) / float64(s.SampleRate), dt: float64(s.STFT.Hop) / float64(s.SampleRate),
		df: float64(s.SampleRate) / float64(s.STFT.NFFT), group: group}
	for c := range cols {
		row := g.db[c*bins : (c+1)*bins]
		for k := range row {
			m := 0.0
			for f := c * group; f < min(frames, (c+1)*group); f++ {
				m = math.Max(m, src[f*bins+k])
			}
			row[k] = math.Max(floor, 20*math.Log10(m/peak+1e-300))
		}
	}
	return g, title
}

// specGrid is a dB spectrogram as a plotter.GridXYZ: columns are (groups of) frames, rows bins.
type specGrid struct {
	db                []float64
	cols, bins, group int
	t0, dt, df        float64
}

func (g specGrid) Dims() (int, int)   { return g.cols, g.bins }
func (g specGrid) Z(c, r int) float64 { return g.db[c*g.bins+r] }
func (g specGrid) X(c int) float64    { return g.t0 + (float64(c*g.group)+float64(g.group-1)/2)*g.dt }
func (g specGrid) Y(r int) float64    { return float64(r) * g.df }

// colorMap is the spectrograms' colour map over [−rangeDB, 0] dB.
func colorMap(rangeDB float64) palette.ColorMap {
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(-rangeDB)
	cm.SetMax(0)
	return cm
}

// drawSpectrogram draws panel which of s into c with its colour bar at the right; title, if not
// empty, replaces the panel's default title.
func drawSpectrogram(c draw.Canvas, s Spectra, which Panel, title string) {
	g, def := s.grid(which)
	if title == "" {
		title = def
	}
	cm := colorMap(s.rangeDB())
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "frequency (Hz)"
	h := plotter.NewHeatMap(g, cm.Palette(256))
	h.Rasterized = true // one image, no seams between cells
	h.Min, h.Max = cm.Min(), cm.Max()
	p.Add(h)

	bar := plot.New()
	bar.HideX()
	bar.X.Padding, bar.Y.Padding = 0, 0
	bar.Y.Label.Text = "dB re original peak"
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	const barWidth = 0.95 * vg.Inch
	left := draw.Crop(c, 0, -barWidth, 0, 0)
	p.Draw(left)
	// Align the bar's data area with the heat map's, vertically.
	dc := p.DataCanvas(left)
	bc := draw.Crop(c, c.Max.X-c.Min.X-barWidth+vg.Points(12), -vg.Points(12), dc.Min.Y-c.Min.Y, dc.Max.Y-c.Max.Y)
	bd := bar.DataCanvas(bc)
	bc = draw.Crop(bc, 0, 0, bc.Min.Y-bd.Min.Y, bc.Max.Y-bd.Max.Y)
	bar.Draw(bc)
}

// newImage returns a white image canvas of the given size and its draw.Canvas.
func newImage(w, h vg.Length) (*vgimg.Canvas, draw.Canvas) {
	img := vgimg.New(w, h)
	return img, draw.New(img)
}

// writePNG encodes img as PNG to w.
func writePNG(w io.Writer, img *vgimg.Canvas) error {
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// WriteSpectrogram writes one panel of s, with its colour bar, as a PNG of width × height to w
// (title "" means the panel's default: "original", "reconstruction", or the error with its SC). It
// panics if s is inconsistent (see Spectra) and returns w's error.
func WriteSpectrogram(w io.Writer, s Spectra, which Panel, title string, width, height vg.Length) error {
	img, c := newImage(width, height)
	drawSpectrogram(c, s, which, title)
	return writePNG(w, img)
}

// Point is one point of a convergence curve.
type Point struct {
	Iteration int     // ≥ 1 (the log axis has no 0)
	Value     float64 // linear ratio, e.g. spectral convergence ‖|X̂| − T‖/‖T‖; drawn in dB
}

// Convergence is the curve of an iterative inversion.
type Convergence struct {
	Points []Point
	Label  string // y axis; "" means "spectral convergence (dB)"
}

// drawConvergence draws conv into c: Value in dB against the iteration, on a log axis with 1-2-5
// labels when the iterations span more than a decade.
func drawConvergence(c draw.Canvas, conv Convergence) error {
	var pts plotter.XYs
	for _, q := range conv.Points {
		if q.Iteration >= 1 && q.Value > 0 && !math.IsInf(q.Value, 0) {
			pts = append(pts, plotter.XY{X: float64(q.Iteration), Y: retrieval.DB(q.Value)})
		}
	}
	p := plot.New()
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = conv.Label
	if p.Y.Label.Text == "" {
		p.Y.Label.Text = "spectral convergence (dB)"
	}
	p.Add(plotter.NewGrid())
	p.Title.Text = "convergence"
	if len(pts) > 0 {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = color.RGBA{B: 200, A: 255}
		l.Width = vg.Points(1.5)
		p.Add(l)
		last := pts[len(pts)-1]
		p.Title.Text = fmt.Sprintf("convergence: %.1f dB after %d iterations", last.Y, int(last.X))
		if p.X.Max >= 10*p.X.Min {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = LogTicks{}
		}
		PadY(p, 0.05)
	}
	p.Draw(c)
	return nil
}

// Hops is the per-hop compute of a streaming run.
type Hops struct {
	Ms    []float64 // compute time of each hop, ms
	HopMs float64   // the hop's duration in ms (the real-time limit), drawn as a line when it lies within the data's range; 0: none
	Title string    // "" means a title with the p50, p99 and maximum
}

// percentile returns the p-quantile (0 ≤ p ≤ 1) of sorted values.
func percentile(sorted []float64, p float64) float64 {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// drawHistogram draws the histogram of h.Ms into c: 40 bins up to the largest time, or up to
// 3 × p99 when a few outliers (a loaded machine's preemptions) lie beyond it, counted in the title.
func drawHistogram(c draw.Canvas, h Hops) error {
	p, err := histogramPlot(h)
	if err != nil {
		return err
	}
	p.Draw(c)
	return nil
}

// histogramPlot is the plot that drawHistogram draws.
func histogramPlot(h Hops) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "compute per hop (ms)"
	p.Y.Label.Text = "hops"
	p.Title.Text = h.Title
	if len(h.Ms) > 0 {
		sorted := append([]float64(nil), h.Ms...)
		slices.Sort(sorted)
		p99, top := percentile(sorted, 0.99), sorted[len(sorted)-1]
		shown, beyond := sorted, 0
		if top > 3*p99 {
			for len(shown) > 1 && shown[len(shown)-1] > 3*p99 {
				shown = shown[:len(shown)-1]
			}
			beyond = len(sorted) - len(shown)
		}
		line := h.HopMs > 0 && h.HopMs <= 1.5*shown[len(shown)-1]
		stats := fmt.Sprintf("p50 %.3g ms, p99 %.3g ms, max %.3g ms", percentile(sorted, 0.5), p99, top)
		if line {
			stats += fmt.Sprintf("; hop %.3g ms (dashed)", h.HopMs)
		} else if h.HopMs > 0 {
			stats += fmt.Sprintf("; hop %.3g ms", h.HopMs)
		}
		if beyond > 0 {
			stats += fmt.Sprintf("; %d beyond 3 × p99", beyond)
		}
		if p.Title.Text == "" {
			p.Title.Text = "per-hop compute: " + stats
		} else {
			p.Title.Text += "\n" + stats
		}
		hist, err := plotter.NewHist(plotter.Values(shown), 40)
		if err != nil {
			return nil, err
		}
		p.Add(hist)
		if line {
			top := 0.0
			for _, b := range hist.Bins {
				top = math.Max(top, b.Weight)
			}
			l, err := plotter.NewLine(plotter.XYs{{X: h.HopMs, Y: 0}, {X: h.HopMs, Y: top}})
			if err != nil {
				return nil, err
			}
			l.Color = color.RGBA{R: 200, A: 255}
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l)
		}
		PadX(p, 0.02)
	}
	return p, nil
}

// WriteHistogram writes the per-hop compute histogram of h as a PNG of width × height to w.
func WriteHistogram(w io.Writer, h Hops, width, height vg.Length) error {
	img, c := newImage(width, height)
	if err := drawHistogram(c, h); err != nil {
		return err
	}
	return writePNG(w, img)
}

// quadrants returns the four panels of a figure, top left, top right, bottom left, bottom right.
func quadrants(c draw.Canvas) [4]draw.Canvas {
	t := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Points(18), PadY: vg.Points(18), PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	return [4]draw.Canvas{t.At(c, 0, 0), t.At(c, 1, 0), t.At(c, 0, 1), t.At(c, 1, 1)}
}

// WriteInversion writes the figure of an offline inversion as a FigureWidth × FigureHeight PNG
// to w: the original, the reconstruction and the error spectrograms of s (dB, colour bars, time
// in s and frequency in Hz) and the convergence curve conv (dB against the iteration, log axis
// when it spans more than a decade; points with Iteration < 1 or Value ≤ 0 are skipped). It panics
// if s is inconsistent (see Spectra) and returns w's error.
func WriteInversion(w io.Writer, s Spectra, conv Convergence) error {
	return writeFigure(w, s, "", "", func(c draw.Canvas) error { return drawConvergence(c, conv) })
}

// WriteStream writes the figure of a streaming run as a FigureWidth × FigureHeight PNG to w: the
// three spectrogram panels of WriteInversion and the histogram of the per-hop compute h. It
// panics if s is inconsistent (see Spectra) and returns w's error.
func WriteStream(w io.Writer, s Spectra, h Hops) error {
	return writeFigure(w, s, "input", "streaming reconstruction", func(c draw.Canvas) error { return drawHistogram(c, h) })
}

// writeFigure writes the two-by-two figure: the original, output and error panels of s (the first
// two titled orig and out, "" for the defaults) and the panel that fourth draws.
func writeFigure(w io.Writer, s Spectra, orig, out string, fourth func(draw.Canvas) error) error {
	img, c := newImage(FigureWidth, FigureHeight)
	q := quadrants(c)
	drawSpectrogram(q[0], s, Original, orig)
	drawSpectrogram(q[1], s, Output, out)
	drawSpectrogram(q[2], s, Error, "")
	if err := fourth(q[3]); err != nil {
		return err
	}
	return writePNG(w, img)
}

// Save creates the file path and writes a figure into it with write (one of the Write functions,
// bound to its arguments). It removes a partly written file on error.
func Save(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("plots: %s: %w", path, err)
	}
	return f.Close()
}

// LogTicks is a plot.Ticker for log axes whose labels are readable at any span: ticks at every
// integer multiple of each power of ten, labelled at 1, 2 and 5 × 10^k, or at every multiple when
// the range holds fewer than three of those.
type LogTicks struct{}

// Ticks returns the ticks in [lo, hi]; it panics if lo ≤ 0, as plot.LogScale does.
func (LogTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 {
		panic("plots: log ticks need a positive range")
	}
	var vals []float64
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				vals = append(vals, v)
			}
		}
	}
	major := func(v float64) bool {
		m := v / math.Pow(10, math.Floor(math.Log10(v)+1e-9))
		return math.Abs(m-1) < 1e-6 || math.Abs(m-2) < 1e-6 || math.Abs(m-5) < 1e-6
	}
	n := 0
	for _, v := range vals {
		if major(v) {
			n++
		}
	}
	ticks := make([]plot.Tick, len(vals))
	for i, v := range vals {
		ticks[i].Value = v
		if n < 3 || major(v) {
			ticks[i].Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
	}
	return ticks
}

// PadX widens p's x range by frac of its span on each side (after the data are added), so that
// markers at the edges are drawn whole; on a log axis the padding is a fraction of the span in
// decades.
func PadX(p *plot.Plot, frac float64) { padAxis(&p.X, frac) }

// PadY is PadX for the y axis.
func PadY(p *plot.Plot, frac float64) { padAxis(&p.Y, frac) }

func padAxis(a *plot.Axis, frac float64) {
	if _, log := a.Scale.(plot.LogScale); log && a.Min > 0 {
		d := math.Max(frac*math.Log10(a.Max/a.Min), 0.02)
		a.Min, a.Max = a.Min/math.Pow(10, d), a.Max*math.Pow(10, d)
		return
	}
	d := frac * (a.Max - a.Min)
	if d == 0 {
		d = math.Max(frac*math.Abs(a.Max), frac)
	}
	a.Min, a.Max = a.Min-d, a.Max+d
}

// WriteWithLegend writes p as a PNG of width × height to w with the legend l drawn in a column to
// the right of the plot, top-aligned with its data area, where it cannot cover the data. p's own
// Legend should be left empty.
func WriteWithLegend(w io.Writer, p *plot.Plot, l plot.Legend, width, height vg.Length) error {
	img, c := newImage(width, height)
	l.Left, l.Top = true, true
	lw := l.Rectangle(c).Size().X + vg.Points(16)
	left := draw.Crop(c, 0, -lw, 0, 0)
	p.Draw(left)
	dc := p.DataCanvas(left)
	l.Draw(draw.Crop(c, c.Max.X-c.Min.X-lw+vg.Points(10), 0, 0, dc.Max.Y-c.Max.Y))
	return writePNG(w, img)
}
