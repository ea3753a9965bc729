package plots

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/rephase/rephase/retrieval"
)

// inversion runs iters Griffin-Lim iterations on a 0.5 s chirp at 8 kHz (n_fft 256, hop 64),
// one at a time from the previous estimate, and returns the Spectra of the original against the
// result and the SC after every iteration.
func inversion(t *testing.T, iters int) (Spectra, Convergence) {
	t.Helper()
	const rate = 8000
	x := retrieval.LogChirp(rate/2, rate, 50, 3500)
	cfg, err := retrieval.Config{NFFT: 256, Hop: 64}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := retrieval.NewSTFT(cfg, len(x))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := retrieval.NewProblem(s, s.Magnitude(nil, x), retrieval.Loss{})
	if err != nil {
		t.Fatal(err)
	}
	var conv Convergence
	y := make([]float64, len(x))
	y[len(y)/2] = 1 // GLA from an impulse: any start works, an all-zero one has no phase
	for i := 1; i <= iters; i++ {
		r, err := retrieval.Invert(p, retrieval.Options{Optimizer: retrieval.GLA, MaxIter: 1, Exact: true, InitialSignal: y})
		if err != nil {
			t.Fatal(err)
		}
		y = r.Signal
		conv.Points = append(conv.Points, Point{Iteration: i, Value: p.SpectralConvergence(y)})
	}
	sp, err := Analyse(cfg, rate, x, y)
	if err != nil {
		t.Fatal(err)
	}
	return sp, conv
}

// decode decodes a PNG and checks its size in pixels (96 dpi).
func decode(t *testing.T, b []byte, w, h vg.Length) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	want := image.Pt(int(math.Round(w.Dots(96))), int(math.Round(h.Dots(96))))
	if got := img.Bounds().Size(); got != want {
		t.Fatalf("image is %v pixels, want %v", got, want)
	}
	return img
}

// colours counts the distinct colours in r, and the pixels that are not white.
func colours(img image.Image, r image.Rectangle) (distinct, inked int) {
	seen := map[color.RGBA]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if c != (color.RGBA{255, 255, 255, 255}) {
				inked++
			}
		}
	}
	return len(seen), inked
}

// quadrant returns quarter i of img: top left, top right, bottom left, bottom right.
func quadrant(img image.Image, i int) image.Rectangle {
	b := img.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	x0, y0 := b.Min.X+(i%2)*w, b.Min.Y+(i/2)*h
	return image.Rect(x0, y0, x0+w, y0+h)
}

// saveArtifact keeps a figure for inspection when REPHASE_PLOTS_DIR is set.
func saveArtifact(t *testing.T, name string, b []byte) {
	if d := os.Getenv("REPHASE_PLOTS_DIR"); d != "" {
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteInversion(t *testing.T) {
	sp, conv := inversion(t, 40)
	first, last := conv.Points[0].Value, conv.Points[len(conv.Points)-1].Value
	if !(last < first) {
		t.Fatalf("GLA did not converge: SC %.3g after 1 iteration, %.3g after 40", first, last)
	}
	var buf bytes.Buffer
	if err := WriteInversion(&buf, sp, conv); err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "inversion.png", buf.Bytes())
	if buf.Len() < 50_000 {
		t.Errorf("figure is only %d bytes", buf.Len())
	}
	img := decode(t, buf.Bytes(), FigureWidth, FigureHeight)
	// Three heat maps with colour bars: many colours in each of the first three quadrants; the
	// convergence curve: ink, but an order of magnitude fewer colours (black text and axes, a
	// blue line, a grey grid, their anti-aliasing).
	for i, name := range []string{"original", "reconstruction", "error"} {
		if n, _ := colours(img, quadrant(img, i)); n < 5000 {
			t.Errorf("%s panel has %d colours, want a spectrogram", name, n)
		}
	}
	n, ink := colours(img, quadrant(img, 3))
	if ink < 2000 || n > 2000 {
		t.Errorf("convergence panel: %d colours, %d inked pixels", n, ink)
	}
	// The curve is blue (0, 0, 200) somewhere in its panel.
	blue := 0
	r := quadrant(img, 3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); c.B > 150 && c.R < 60 && c.G < 60 {
				blue++
			}
		}
	}
	if blue < 100 {
		t.Errorf("convergence panel has %d blue pixels, want the curve", blue)
	}
}

func TestWriteStreamAndSave(t *testing.T) {
	sp, _ := inversion(t, 5)
	hops := make([]float64, 300)
	for i := range hops {
		hops[i] = 0.5 + 0.1*math.Sin(float64(i)) + 0.002*float64(i)
	}
	path := filepath.Join(t.TempDir(), "stream.png")
	if err := Save(path, func(w io.Writer) error { return WriteStream(w, sp, Hops{Ms: hops, HopMs: 1.2}) }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "stream.png", b)
	img := decode(t, b, FigureWidth, FigureHeight)
	for i := range 3 {
		if n, _ := colours(img, quadrant(img, i)); n < 5000 {
			t.Errorf("spectrogram panel %d has %d colours", i, n)
		}
	}
	// The histogram's bars are grey (128, 128, 128) and the hop duration is a red dashed line.
	grey, red := 0, 0
	r := quadrant(img, 3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R == 128 && c.G == 128 && c.B == 128 {
				grey++
			}
			if c.R > 150 && c.G < 60 && c.B < 60 {
				red++
			}
		}
	}
	if grey < 2000 || red < 20 {
		t.Errorf("histogram panel: %d grey (bars) and %d red (hop line) pixels", grey, red)
	}
}

func TestSaveRemovesFileOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.png")
	err := Save(path, func(w io.Writer) error { w.Write([]byte("x")); return os.ErrInvalid })
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v does not name the file", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("partial file left behind: %v", err)
	}
}

func TestSpectrogramGrid(t *testing.T) {
	sp, _ := inversion(t, 3)
	g, _ := sp.grid(Original)
	frames := len(sp.Original) / sp.STFT.Bins()
	if c, r := g.Dims(); c != frames || r != sp.STFT.Bins() {
		t.Fatalf("grid %d × %d, want %d × %d", c, r, frames, sp.STFT.Bins())
	}
	// Centre framing: frame m is centred at m·hop; the top bin is Nyquist.
	if g.X(0) != 0 || math.Abs(g.X(10)-10*64.0/8000) > 1e-12 || g.Y(sp.STFT.Bins()-1) != 4000 {
		t.Fatalf("frame 0 at %g s, frame 10 at %g s, top bin at %g Hz", g.X(0), g.X(10), g.Y(sp.STFT.Bins()-1))
	}
	top := math.Inf(-1)
	for _, v := range g.db {
		top = math.Max(top, v)
		if v < -DefaultRangeDB {
			t.Fatalf("level %g dB below the range", v)
		}
	}
	if top != 0 {
		t.Fatalf("original's peak at %g dB, want 0", top)
	}
	// A long spectrogram is drawn with at most maxColumns columns, each the maximum of its frames.
	long := sp
	reps := 2*maxColumns/frames + 1
	long.Original = repeat(sp.Original, reps)
	long.Output = repeat(sp.Output, reps)
	lg, _ := long.grid(Original)
	if c, _ := lg.Dims(); c > maxColumns || c < maxColumns/2 {
		t.Fatalf("%d frames drawn as %d columns", reps*frames, c)
	}
	if lg.X(1)-lg.X(0) != float64(lg.group)*64/8000 {
		t.Fatalf("columns %g s apart, want %d hops", lg.X(1)-lg.X(0), lg.group)
	}
}

func repeat(v []float64, n int) []float64 {
	out := make([]float64, 0, n*len(v))
	for range n {
		out = append(out, v...)
	}
	return out
}

func TestSpectraMisusePanics(t *testing.T) {
	sp, _ := inversion(t, 1)
	bad := sp
	bad.Output = bad.Output[:len(bad.Output)-1]
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "plots: ") {
			t.Fatalf("recovered %v, want a plots: panic", r)
		}
	}()
	WriteSpectrogram(&bytes.Buffer{}, bad, Original, "", 4*vg.Inch, 3*vg.Inch)
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) string {
		var l []string
		for _, tk := range (LogTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return strings.Join(l, " ")
	}
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 100, "1 2 5 10 20 50 100"},
		{4, 128, "5 10 20 50 100"},
		{0.3, 3, "0.5 1 2"},
		{3, 7, "3 4 5 6 7"},
		{16, 512, "20 50 100 200 500"},
	} {
		if got := labels(c.lo, c.hi); got != c.want {
			t.Errorf("ticks on [%g, %g]: %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
	if n := len((LogTicks{}).Ticks(1, 100)); n != 19 {
		t.Errorf("%d ticks on [1, 100], want every integer multiple (19)", n)
	}
}

func TestPad(t *testing.T) {
	p := plot.New()
	s, err := plotter.NewScatter(plotter.XYs{{X: 10, Y: -5}, {X: 30, Y: 5}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(s)
	PadX(p, 0.05)
	PadY(p, 0.1)
	if p.X.Min != 9 || p.X.Max != 31 || p.Y.Min != -6 || p.Y.Max != 6 {
		t.Fatalf("padded to x [%g, %g], y [%g, %g]", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	q := plot.New()
	q.Add(s)
	q.X.Scale = plot.LogScale{}
	PadX(q, 0.1)
	if r := q.X.Max / 30; math.Abs(q.X.Min*r-10) > 1e-9 || r <= 1 {
		t.Fatalf("log padding not symmetric in decades: [%g, %g]", q.X.Min, q.X.Max)
	}
}

// TestLegendBesideData draws a green area over the whole data range and a red-line legend: no red
// pixel may lie left of the last green one.
func TestLegendBesideData(t *testing.T) {
	p := plot.New()
	area, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 0, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	area.Color = color.RGBA{G: 255, A: 255}
	area.LineStyle.Width = 0
	p.Add(area)
	l := plot.NewLegend()
	line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}})
	if err != nil {
		t.Fatal(err)
	}
	line.Color = color.RGBA{R: 255, A: 255}
	line.Width = vg.Points(3)
	l.Add("a long legend entry", line)
	var buf bytes.Buffer
	if err := WriteWithLegend(&buf, p, l, 5*vg.Inch, 3*vg.Inch); err != nil {
		t.Fatal(err)
	}
	img := decode(t, buf.Bytes(), 5*vg.Inch, 3*vg.Inch)
	lastGreen, firstRed := -1, img.Bounds().Max.X
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.G > 200 && c.R < 50 && c.B < 50 {
				lastGreen = max(lastGreen, x)
			}
			if c.R > 200 && c.G < 50 && c.B < 50 {
				firstRed = min(firstRed, x)
			}
		}
	}
	if lastGreen < 0 || firstRed == img.Bounds().Max.X || firstRed <= lastGreen {
		t.Fatalf("data end at x = %d, legend starts at x = %d", lastGreen, firstRed)
	}
}

// TestHistogramOutliers: hops far beyond the p99 (a preempted process) are counted in the title
// instead of stretching the axis; the hop duration is drawn only within the data's range.
func TestHistogramOutliers(t *testing.T) {
	ms := make([]float64, 500)
	for i := range ms {
		ms[i] = 1 + 0.001*float64(i)
	}
	ms[7], ms[300] = 90, 170
	p, err := histogramPlot(Hops{Ms: ms, HopMs: 8, Title: "engine"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Title.Text, "engine\n") || !strings.Contains(p.Title.Text, "2 beyond 3 × p99") || !strings.Contains(p.Title.Text, "max 170 ms; hop 8 ms;") {
		t.Errorf("title %q", p.Title.Text)
	}
	if p.X.Max > 2 {
		t.Errorf("x axis reaches %g ms, want the bulk (1–1.5 ms) only", p.X.Max)
	}
	q, err := histogramPlot(Hops{Ms: ms[8:108], HopMs: 1.05})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(q.Title.Text, "per-hop compute: p50") || !strings.Contains(q.Title.Text, "hop 1.05 ms (dashed)") || q.X.Max < 1.05 || q.X.Max > 1.2 {
		t.Errorf("title %q, x up to %g", q.Title.Text, q.X.Max)
	}
}
