//go:build cgo && !purego && amd64

package optim

/*
#cgo CFLAGS: -O3
// No contraction into FMA even when CGO_CFLAGS enable it (-march=native): the kernels promise
// the bits of the Go loops and the same bits in both builds.
#pragma GCC optimize ("fp-contract=off")
#include <stdint.h>
#include <string.h>

// FGLA's update (Perraudin et al. 2013): y = z − g·d (or z − g), z ← y + a·(y − x), x ← y. Plain
// element-wise arithmetic without FMA in either build, so it computes the bits of the Go loop in
// kernels_go.go.
#define RPO_FGLA(sfx, attr) \
attr static void rpo_fgla_diag##sfx(double *restrict z, double *restrict x, const double *restrict g, const double *restrict d, double a, long n) { \
	for (long i = 0; i < n; i++) { double y = z[i] - g[i] * d[i]; z[i] = y + a * (y - x[i]); x[i] = y; } \
} \
attr static void rpo_fgla##sfx(double *restrict z, double *restrict x, const double *restrict g, double a, long n) { \
	for (long i = 0; i < n; i++) { double y = z[i] - g[i]; z[i] = y + a * (y - x[i]); x[i] = y; } \
}
RPO_FGLA(_avx2, __attribute__((target("avx2"))))
RPO_FGLA(_base, )

// L-BFGS's vector kernels, each one pass over memory (they are bound by memory traffic, not
// arithmetic: the history holds 2·m vectors of the signal's length). Every dot product adds its
// terms into eight partial sums in a fixed order, so the AVX2 and baseline builds (both without
// FMA) compute the same bits.
#define RPO_KERNELS(sfx, attr) \
attr static double rpo_copy_dot##sfx(double *restrict q, const double *restrict g, const double *restrict u, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { q[i+k] = g[i+k]; a[k] += u[i+k] * g[i+k]; } \
	for (; i < n; i++) { q[i] = g[i]; a[0] += u[i] * g[i]; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
} \
attr static double rpo_axpy_dot##sfx(double *restrict q, double c, const double *restrict v, const double *restrict u, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { double t = q[i+k] + c * v[i+k]; q[i+k] = t; a[k] += u[i+k] * t; } \
	for (; i < n; i++) { double t = q[i] + c * v[i]; q[i] = t; a[0] += u[i] * t; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
} \
attr static double rpo_scale_dot##sfx(double *restrict q, double c, const double *restrict u, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { double t = c * q[i+k]; q[i+k] = t; a[k] += u[i+k] * t; } \
	for (; i < n; i++) { double t = c * q[i]; q[i] = t; a[0] += u[i] * t; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
} \
attr static void rpo_axpy##sfx(double *restrict q, double c, const double *restrict v, long n) { \
	for (long i = 0; i < n; i++) q[i] += c * v[i]; \
} \
attr static double rpo_final##sfx(double *restrict d, const double *restrict q, double c, const double *restrict v, const double *restrict g, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { double t = -(q[i+k] + c * v[i+k]); d[i+k] = t; a[k] += g[i+k] * t; } \
	for (; i < n; i++) { double t = -(q[i] + c * v[i]); d[i] = t; a[0] += g[i] * t; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
} \
attr static double rpo_neg_scale_dot##sfx(double *restrict d, const double *restrict q, double c, const double *restrict g, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { double t = -(c * q[i+k]); d[i+k] = t; a[k] += g[i+k] * t; } \
	for (; i < n; i++) { double t = -(c * q[i]); d[i] = t; a[0] += g[i] * t; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
} \
attr static double rpo_diff_dot##sfx(double *restrict s, const double *restrict xt, const double *restrict x, double *restrict y, const double *restrict gt, const double *restrict g, long n) { \
	double a[8] = {0}; long i = 0; \
	for (; i + 8 <= n; i += 8) for (int k = 0; k < 8; k++) { double p = xt[i+k] - x[i+k], r = gt[i+k] - g[i+k]; s[i+k] = p; y[i+k] = r; a[k] += p * r; } \
	for (; i < n; i++) { double p = xt[i] - x[i], r = gt[i] - g[i]; s[i] = p; y[i] = r; a[0] += p * r; } \
	return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); \
}
RPO_KERNELS(_avx2, __attribute__((target("avx2"))))
RPO_KERNELS(_base, )

static int rpo_have_avx2 = 0;
static void rpo_detect_cpu(void) { __builtin_cpu_init(); rpo_have_avx2 = __builtin_cpu_supports("avx2"); }

#define RPO_CALL(f, ...) (rpo_have_avx2 ? f##_avx2(__VA_ARGS__) : f##_base(__VA_ARGS__))

// rpo_loop1 is the two-loop recursion's first loop over cnt pairs in order (newest first): slot i's
// vectors are S + i·stride and Y + i·stride, already offset to the free samples (n of them).
// It sets q = g − Σ α_i·y_i and alpha[i] = rho[i]·s_iᵀq, q as it stands before y_i is taken off.
static void rpo_loop1(double *q, const double *g, const double *S, const double *Y, long stride,
		const int32_t *order, int cnt, const double *rho, double *alpha, long n) {
	if (cnt == 0) { memcpy(q, g, n * sizeof(double)); return; }
	int p = order[0];
	alpha[p] = rho[p] * RPO_CALL(rpo_copy_dot, q, g, S + p * stride, n);
	for (int j = 1; j < cnt; j++) {
		int i = order[j];
		alpha[i] = rho[i] * RPO_CALL(rpo_axpy_dot, q, -alpha[p], Y + p * stride, S + i * stride, n);
		p = i;
	}
	RPO_CALL(rpo_axpy, q, -alpha[p], Y + p * stride, n);
}

// rpo_loop2 is the second loop over the pairs in reverse order (oldest first), from the
// preconditioned q: q ← γ·q, then q += (α_i − ρ_i y_iᵀq)·s_i, and d = −q at the end. It returns gᵀd.
static double rpo_loop2(double *d, double *q, const double *g, const double *S, const double *Y, long stride,
		const int32_t *order, int cnt, const double *rho, const double *alpha, double gamma, long n) {
	if (cnt == 0) return RPO_CALL(rpo_neg_scale_dot, d, q, gamma, g, n); // d = −γ·q
	int p = order[cnt - 1];
	double c = alpha[p] - rho[p] * RPO_CALL(rpo_scale_dot, q, gamma, Y + p * stride, n);
	for (int j = cnt - 2; j >= 0; j--) {
		int i = order[j];
		double b = rho[i] * RPO_CALL(rpo_axpy_dot, q, c, S + p * stride, Y + i * stride, n);
		c = alpha[i] - b;
		p = i;
	}
	return RPO_CALL(rpo_final, d, q, c, S + p * stride, g, n);
}

static void rpo_fgla_update(double *z, double *x, const double *g, const double *d, double a, long n) {
	if (d) RPO_CALL(rpo_fgla_diag, z, x, g, d, a, n); else RPO_CALL(rpo_fgla, z, x, g, a, n);
}

static double rpo_diff_dot(double *s, const double *xt, const double *x, double *y, const double *gt, const double *g, long n) {
	return RPO_CALL(rpo_diff_dot, s, xt, x, y, gt, g, n);
}
*/
import "C"

import "unsafe"

func init() { C.rpo_detect_cpu() }

// ptr returns a C pointer to v[0], or nil for an empty v.
func ptr(v []float64) *C.double {
	if len(v) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&v[0]))
}

// loop1 is the two-loop recursion's first loop (see rpo_loop1) over l.order[:l.n], on the free
// samples [lo, n).
func (l *LBFGS) loop1(q, g []float64, lo, n int) {
	if lo == n {
		return
	}
	C.rpo_loop1(ptr(q[lo:n]), ptr(g[lo:n]), ptr(l.sBlock[lo:]), ptr(l.yBlock[lo:]), C.long(l.size),
		(*C.int32_t)(unsafe.Pointer(&l.order[0])), C.int(l.n), ptr(l.rho), ptr(l.alpha), C.long(n-lo))
}

// loop2 is the second loop (see rpo_loop2): it writes d = −H·g on [lo, n) and returns gᵀd there.
func (l *LBFGS) loop2(d, q, g []float64, lo, n int) float64 {
	if lo == n {
		return 0
	}
	return float64(C.rpo_loop2(ptr(d[lo:n]), ptr(q[lo:n]), ptr(g[lo:n]), ptr(l.sBlock[lo:]), ptr(l.yBlock[lo:]), C.long(l.size),
		(*C.int32_t)(unsafe.Pointer(&l.order[0])), C.int(l.n), ptr(l.rho), ptr(l.alpha), C.double(l.gamma), C.long(n-lo)))
}

// diffDot sets s = xt − x and y = gt − g (all of one length) and returns sᵀy.
func diffDot(s, xt, x, y, gt, g []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return float64(C.rpo_diff_dot(ptr(s), ptr(xt), ptr(x), ptr(y), ptr(gt), ptr(g), C.long(len(s))))
}

// fglaUpdate is FGLA's update over equal-length slices: y = z − g·d (y = z − g with d nil),
// z ← y + a·(y − x), x ← y; one pass in C (AVX2 when available), the same bits as the Go loop.
func fglaUpdate(z, x, g, d []float64, a float64) {
	if len(z) == 0 {
		return
	}
	x, g = x[:len(z)], g[:len(z)]
	var dp *C.double
	if d != nil {
		dp = ptr(d[:len(z)])
	}
	C.rpo_fgla_update(ptr(z), ptr(x), ptr(g), dp, C.double(a), C.long(len(z)))
}
