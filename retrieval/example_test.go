package retrieval_test

import (
	"fmt"

	"github.com/rephase/rephase/retrieval"
)

// Offline inversion: a signal from its STFT magnitudes. The target here is the analysis of a
// known chirp so that the result can be scored; from Python it would be np.abs(librosa.stft(y))
// transposed to frames × bins. The zero Options are fast Griffin-Lim (FGLA) from zero phase; 200
// iterations without the tolerance check (Tol −1) make the run exactly repeatable. SC is the
// spectral convergence ‖|STFT(x̂)| − T‖/‖T‖ in dB.
func ExampleInvert() {
	const rate = 8000
	x := retrieval.LogChirp(rate, rate, 50, 3500)                             // 1 s exponential chirp, 50 Hz → 3.5 kHz
	s, err := retrieval.NewSTFT(retrieval.Config{NFFT: 256, Hop: 64}, len(x)) // periodic Hann, centred, reflect padding
	if err != nil {
		panic(err)
	}
	defer s.Close()
	target := s.Magnitude(nil, x) // frames × bins, row-major
	p, err := retrieval.NewProblem(s, target, retrieval.Loss{})
	if err != nil {
		panic(err)
	}
	opt := retrieval.DefaultOptions() // FGLA from zero phase
	opt.MaxIter, opt.Tol = 200, 0     // 200 iterations, no early stop
	res, err := retrieval.Invert(p, opt)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d frames × %d bins → %d samples\n", s.Frames(), s.Bins(), len(res.Signal))
	fmt.Printf("SC %.0f dB after %d iterations (%v)\n", retrieval.DB(p.SpectralConvergence(res.Signal)), res.Iterations, res.Stop)
	// Output:
	// 126 frames × 129 bins → 8000 samples
	// SC -34 dB after 200 iterations (max iterations)
}
