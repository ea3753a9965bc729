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
