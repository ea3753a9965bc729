package main

import (
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPlotFlags (issue 17 item 5): `invert --plot` and `stream --plot` write a PNG figure of four
// panels (spectrograms of the original, the reconstruction and the error, and the convergence
// curve or the per-hop compute histogram): the file decodes, and each quadrant of the image holds
// drawing, not only background. `stream --plot` with --out - is refused with exit status 2.
func TestPlotFlags(t *testing.T) {
	bin := buildRephase(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeTestWAV(t, in, 8000, func(i float64) float64 { return 0.5 * math.Sin(2*math.Pi*(300+0.05*i)*i/8000) })
	for _, args := range [][]string{
		{"invert", in, "-o", filepath.Join(dir, "i.wav"), "--iters", "40", "--plot", filepath.Join(dir, "invert.png")},
		{"stream", in, "-o", filepath.Join(dir, "s.wav"), "--iters-per-hop", "4", "--plot", filepath.Join(dir, "stream.png")},
	} {
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
		f, err := os.Open(args[len(args)-1])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", args[0], err)
		}
		r := img.Bounds()
		if r.Dx() < 800 || r.Dy() < 500 {
			t.Fatalf("%s: figure %v too small", args[0], r)
		}
		w, h := r.Dx()/2, r.Dy()/2
		for q, b := range []image.Rectangle{image.Rect(0, 0, w, h), image.Rect(w, 0, 2*w, h), image.Rect(0, h, w, 2*h), image.Rect(w, h, 2*w, 2*h)} {
			if drawn := inkShare(img, b.Add(r.Min)); drawn < 0.01 { // a blank quadrant is 0 %; the curve panel about 4 %
				t.Errorf("%s: quadrant %d is %.1f %% drawn, want a panel", args[0], q, 100*drawn)
			}
		}
	}
	cmd := exec.Command(bin, "stream", in, "-o", "-", "--plot", filepath.Join(dir, "x.png"))
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("stream --plot with -o -: %v, want exit status 2", err)
	}
}

// inkShare returns the share of pixels in r that are not near-white.
func inkShare(img image.Image, r image.Rectangle) float64 {
	ink, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			c0, c1, c2, _ := img.At(x, y).RGBA()
			all++
			if c0 < 0xe000 || c1 < 0xe000 || c2 < 0xe000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(all)
}
