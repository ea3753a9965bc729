package retrieval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rephase/rephase/stream/npy"
)

// scatteringFixture is one case of testdata/scattering1d/meta.json: Kymatio's Scattering1D
// (numpy frontend, float64) at commit 11552ed5, generated outside the repo.
type scatteringFixture struct {
	Params struct {
		J, Shape, Q int
		MaxOrder    *int `json:"max_order"`
	}
	SShape []int       `json:"S_shape"`
	Order  []int       `json:"order"`
	Key    [][]int     `json:"key"`
	Xi     [][]float64 `json:"xi"`
	Sigma  [][]float64 `json:"sigma"`
}

// loadScatteringFixtures reads meta.json, whose NaNs (Python's json) Go's decoder rejects.
func loadScatteringFixtures(t *testing.T) map[string]scatteringFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "scattering1d", "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	// NaN marks the missing second entry of lower-order paths; 1e308 stands in for it.
	b = []byte(strings.ReplaceAll(string(b), "NaN", "1e308"))
	var meta struct {
		Cases map[string]scatteringFixture
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	return meta.Cases
}

func readScatteringNpy(t *testing.T, name string) []float64 {
	t.Helper()
	_, v, err := npy.ReadFile(filepath.Join("testdata", "scattering1d", name))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f scatteringFixture) config() ScatteringConfig {
	c := ScatteringConfig{J: f.Params.J, Q: f.Params.Q, MaxOrder: 2}
	if f.Params.MaxOrder != nil {
		c.MaxOrder = *f.Params.MaxOrder
	}
	return c
}

// TestScatteringMatchesKymatio: coefficients within 1e-6 relative (Frobenius) of Kymatio's
// float64 output, each row within 1e-6 of the largest coefficient, and the path metadata equal.
func TestScatteringMatchesKymatio(t *testing.T) {
	for name, fx := range loadScatteringFixtures(t) {
		t.Run(name, func(t *testing.T) {
			x := readScatteringNpy(t, name+"_x.npy")
			want := readScatteringNpy(t, name+"_S.npy")
			s, err := NewScattering(fx.config(), len(x))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Rows() != fx.SShape[0] || s.Frames() != fx.SShape[1] {
				t.Fatalf("shape %d × %d, Kymatio %d × %d", s.Rows(), s.Frames(), fx.SShape[0], fx.SShape[1])
			}
			got := s.Transform(nil, x)
			if e := relErr(got, want); e > 1e-6 {
				t.Errorf("relative error %.3g", e)
			}
			peak := 0.0
			for _, v := range want {
				peak = max(peak, math.Abs(v))
			}
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(got[i]-want[i])/peak)
			}
			if worst > 1e-6 {
				t.Errorf("max abs error %.3g of the peak", worst)
			}
			for r, p := range s.Paths() {
				if p.Order != fx.Order[r] || !equalInts(p.N, fx.Key[r]) {
					t.Fatalf("row %d: order %d key %v, Kymatio %d %v", r, p.Order, p.N, fx.Order[r], fx.Key[r])
				}
				for i := range p.Order {
					if math.Abs(p.Xi[i]-fx.Xi[r][i]) > 1e-12 || math.Abs(p.Sigma[i]-fx.Sigma[r][i]) > 1e-12 {
						t.Fatalf("row %d: ξ %v σ %v, Kymatio %v %v", r, p.Xi, p.Sigma, fx.Xi[r], fx.Sigma[r])
					}
				}
			}
			t.Logf("rows %d × %d, padded %d, relative error %.2g", s.Rows(), s.Frames(), s.PaddedLength(), relErr(got, want))
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

func TestNewScatteringRejects(t *testing.T) {
	for _, c := range []struct {
		cfg ScatteringConfig
		n   int
	}{
		{ScatteringConfig{J: 0, Q: 8, MaxOrder: 2}, 1024},
		{ScatteringConfig{J: 11, Q: 8, MaxOrder: 2}, 1024},
		{ScatteringConfig{J: 6, Q: 0, MaxOrder: 2}, 1024},
		{ScatteringConfig{J: 6, Q: 8, MaxOrder: 3}, 1024},
		{ScatteringConfig{J: 6, Q: 8, MaxOrder: 0}, 1024},
	} {
		if _, err := NewScattering(c.cfg, c.n); err == nil {
			t.Errorf("%+v on %d samples: no error", c.cfg, c.n)
		}
	}
}

// TestScatteringGradient checks ∇F of the scattering loss against central finite differences
// on random coordinates, for both orders and odd lengths (reflect padding's fold).
func TestScatteringGradient(t *testing.T) {
	for _, c := range []struct {
		cfg ScatteringConfig
		n   int
	}{
		{ScatteringConfig{J: 4, Q: 4, MaxOrder: 2}, 301},
		{ScatteringConfig{J: 5, Q: 8, MaxOrder: 1}, 512},
		{ScatteringConfig{J: 6, Q: 8, MaxOrder: 2}, 2048},
	} {
		s, err := NewScattering(c.cfg, c.n)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		x, y := make([]float64, c.n), make([]float64, c.n)
		for i := range x {
			x[i] = rng.NormFloat64()
			y[i] = math.Cos(0.05*float64(i)) + 0.3*rng.NormFloat64()
		}
		p, err := NewScatteringProblem(s, s.Transform(nil, y))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, c.n)
		p.Eval(g, x)
		gnorm := 0.0
		for _, v := range g {
			gnorm = max(gnorm, math.Abs(v))
		}
		const h = 1e-5
		worst := 0.0
		idx := []int{0, 1, c.n / 2, c.n - 1}
		for range 8 {
			idx = append(idx, rng.IntN(c.n))
		}
		for _, i := range idx {
			old := x[i]
			x[i] = old + h
			fp := p.Eval(nil, x)
			x[i] = old - h
			fm := p.Eval(nil, x)
			x[i] = old
			fd := (fp - fm) / (2 * h)
			worst = max(worst, math.Abs(fd-g[i])/gnorm)
		}
		if worst > 1e-6 {
			t.Errorf("%+v n %d: finite-difference error %.3g of max |∇F|", c.cfg, c.n, worst)
		}
		s.Close()
	}
}
