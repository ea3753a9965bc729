//go:build !cgo || purego || !amd64

package optim

import "gonum.org/v1/gonum/floats"

// loop1 is the two-loop recursion's first loop over l.order[:l.n] (newest first) on the free
// samples [lo, n): q = g − Σ α_i·y_i with α_i = ρ_i·s_iᵀq. The cgo build fuses each axpy with the
// next dot product in C (kernels_cgo.go); this is the same arithmetic in gonum's kernels.
func (l *LBFGS) loop1(q, g []float64, lo, n int) {
	qq := q[lo:n]
	copy(qq, g[lo:n])
	for _, i := range l.order[:l.n] {
		l.alpha[i] = l.rho[i] * floats.Dot(l.s[i][lo:n], qq)
		floats.AddScaled(qq, -l.alpha[i], l.y[i][lo:n])
	}
}

// loop2 is the second loop (oldest first) from the preconditioned q: q ← γ·q, then
// q += (α_i − ρ_i·y_iᵀq)·s_i; it writes d = −q on [lo, n) and returns gᵀd there.
func (l *LBFGS) loop2(d, q, g []float64, lo, n int) float64 {
	qq := q[lo:n]
	floats.Scale(l.gamma, qq)
	for j := l.n - 1; j >= 0; j-- {
		i := l.order[j]
		b := l.rho[i] * floats.Dot(l.y[i][lo:n], qq)
		floats.AddScaled(qq, l.alpha[i]-b, l.s[i][lo:n])
	}
	floats.ScaleTo(d[lo:n], -1, qq)
	return floats.Dot(g[lo:n], d[lo:n])
}

// diffDot sets s = xt − x and y = gt − g (all of one length) and returns sᵀy.
func diffDot(s, xt, x, y, gt, g []float64) float64 {
	floats.SubTo(s, xt, x)
	floats.SubTo(y, gt, g)
	return floats.Dot(s, y)
}

// fglaUpdate is FGLA's update over equal-length slices: y = z − g·d (y = z − g with d nil),
// z ← y + a·(y − x), x ← y (sliced once so that the loop runs without bounds checks).
func fglaUpdate(z, x, g, d []float64, a float64) {
	x, g = x[:len(z)], g[:len(z)]
	if d == nil {
		for i, zi := range z {
			y := zi - g[i]
			z[i] = y + a*(y-x[i])
			x[i] = y
		}
		return
	}
	d = d[:len(z)]
	for i, zi := range z {
		y := zi - g[i]*d[i]
		z[i] = y + a*(y-x[i])
		x[i] = y
	}
}
