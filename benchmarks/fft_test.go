package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"testing"

	godsp "github.com/mjibson/go-dsp/fft"

	"github.com/rephase/rephase/retrieval/fft"
)

var fftSizes = []int{128, 256, 512, 1024, 2048, 4096}

// BenchmarkFFTPair times one forward + one inverse real FFT of size n_fft — the unit of cost of
// every phase-retrieval iteration — for the build's default backend (FFTW under cgo), gonum, and
// github.com/mjibson/go-dsp/fft (complex FFTs that allocate per call), side by side.
func BenchmarkFFTPair(b *testing.B) {
	for _, n := range fftSizes {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		spec := make([]complex128, n/2+1)
		out := make([]float64, n)
		for _, bk := range []struct {
			name string
			plan *fft.Plan
		}{{fft.Backend, fft.New(n)}, {"gonum", fft.NewGonum(n)}} {
			if bk.name == "gonum" && fft.Backend == "gonum" {
				continue
			}
			b.Run(fmt.Sprintf("%s/n_fft=%d", bk.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					bk.plan.Forward(spec, x)
					bk.plan.Inverse(out, spec)
				}
			})
			bk.plan.Close()
		}
		b.Run(fmt.Sprintf("go-dsp/n_fft=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c := godsp.FFTReal(x)
				_ = godsp.IFFT(c)
			}
		})
	}
}

// BenchmarkFFTPlanning compares FFTW's planning modes side by side: Estimate (reproducible, no
// file), Wisdom (the default: measured once per machine, then reproducible from the wisdom file)
// and Measure (timed planning in every process, not reproducible), each on aligned buffers and on
// buffers offset by one float64, which the plan copies through its own aligned scratch. Under the
// gonum backend all modes are the same algorithm.
func BenchmarkFFTPlanning(b *testing.B) {
	defer fft.SetPlanning(fft.CurrentPlanning())
	for _, n := range []int{128, 512, 1024, 2048} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float64, n+1)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		spec := make([]complex128, n/2+2)
		out := make([]float64, n+1)
		for _, mode := range []fft.Planning{fft.Estimate, fft.Wisdom, fft.Measure} {
			fft.SetPlanning(mode)
			p := fft.New(n)
			for _, off := range []int{0, 1} {
				b.Run(fmt.Sprintf("%s/offset=%d/n_fft=%d", mode, off, n), func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						p.Forward(spec[off:off+n/2+1], x[off:off+n])
						p.Inverse(out[off:off+n], spec[off:off+n/2+1])
					}
				})
			}
			p.Close()
		}
	}
}
