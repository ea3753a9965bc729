package retrieval

// Element-wise kernels of the per-frame hot loop, unrolled by four with the bounds checks hoisted
// (the Go compiler does not vectorise; this roughly halves their cost, see
// benchmarks/REPORT.md).

// mulTo sets dst[i] = a[i]·b[i] for i < len(dst); a and b must be at least as long.
func mulTo(dst, a, b []float64) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		d := dst[i : i+4 : i+4]
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		d[0] = x[0] * y[0]
		d[1] = x[1] * y[1]
		d[2] = x[2] * y[2]
		d[3] = x[3] * y[3]
	}
	for ; i < n; i++ {
		dst[i] = a[i] * b[i]
	}
}

// mulAddTo adds a[i]·b[i] to dst[i] for i < len(dst); a and b must be at least as long.
func mulAddTo(dst, a, b []float64) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		d := dst[i : i+4 : i+4]
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		d[0] += x[0] * y[0]
		d[1] += x[1] * y[1]
		d[2] += x[2] * y[2]
		d[3] += x[3] * y[3]
	}
	for ; i < n; i++ {
		dst[i] += a[i] * b[i]
	}
}
