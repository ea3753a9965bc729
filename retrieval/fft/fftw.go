//go:build cgo && !purego

package fft

/*
#cgo pkg-config: fftw3
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#pragma GCC optimize ("no-math-errno", "no-trapping-math")
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <immintrin.h>

// rp_alignment returns the modulus FFTW's SIMD codelets align to (16 or 32 bytes, 1 without SIMD):
// the smallest power of two a with fftw_alignment_of(a) == 0.
static int rp_alignment(void) {
	for (uintptr_t a = 1; a < 4096; a <<= 1) {
		if (fftw_alignment_of((double *)a) == 0) return (int)a;
	}
	return 4096;
}
// rp_map_scalar applies the per-bin map of fft.Plan.MagnitudePass to bins [k0, bins) and returns
// Σ (|X| − t)² over them. Portable C; gcc vectorises it with SSE2.
static double rp_map_scalar(double *restrict spec, const double *restrict t, int k0, int bins,
		double alpha, double beta, int map) {
	double s0 = 0, s1 = 0;
	for (int k = k0; k < bins; k++) {
		double re = spec[2*k], im = spec[2*k+1];
		double r = sqrt(re*re + im*im);
		double d = r - t[k];
		if ((k & 1) == 0) s0 += d * d; else s1 += d * d;
		if (map) {
			double q = r > 0 ? t[k] / (r > 0 ? r : 1.0) : 0.0;
			double sc = alpha + beta * q;
			spec[2*k] = sc * re;
			spec[2*k+1] = sc * im;
		}
	}
	return s0 + s1;
}

// rp_map_avx2 is rp_map_scalar for CPUs with AVX2 and FMA, four bins at a time. The divider
// (sqrt and division share it) bounds the scalar map, so 1/|X| comes from the single-precision
// reciprocal square root refined by three Newton steps, y ← y·(3 − r²y²)/2, each of which squares
// the relative error: 3.7e-4 → 2e-7 → 6e-14 → rounding (~1e-16). Lanes with |X|² outside
// [1e-30, 1e30] (where the single-precision estimate would under- or overflow) take the scalar
// path. Returns Σ (|X| − t)² over all bins.
__attribute__((target("avx2,fma")))
static double rp_map_avx2(double *restrict spec, const double *restrict t, int bins,
		double alpha, double beta, int map) {
	__m256d acc = _mm256_setzero_pd();
	const __m256d lo = _mm256_set1_pd(1e-30), hi = _mm256_set1_pd(1e30);
	const __m256d three = _mm256_set1_pd(3.0), half = _mm256_set1_pd(0.5);
	const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
	double rest = 0;
	int k = 0;
	for (; k + 4 <= bins; k += 4) {
		__m256d a = _mm256_loadu_pd(spec + 2*k);     // re0 im0 re1 im1
		__m256d b = _mm256_loadu_pd(spec + 2*k + 4); // re2 im2 re3 im3
		// hadd gives r²0 r²2 r²1 r²3; permute to bin order.
		__m256d r2 = _mm256_permute4x64_pd(_mm256_hadd_pd(_mm256_mul_pd(a, a), _mm256_mul_pd(b, b)), 0xD8);
		__m256d ok = _mm256_and_pd(_mm256_cmp_pd(r2, lo, _CMP_GE_OQ), _mm256_cmp_pd(r2, hi, _CMP_LE_OQ));
		if (_mm256_movemask_pd(ok) != 0xF) {
			rest += rp_map_scalar(spec, t, k, k + 4, alpha, beta, map);
			continue;
		}
		__m256d y = _mm256_cvtps_pd(_mm_rsqrt_ps(_mm256_cvtpd_ps(r2)));
		for (int it = 0; it < 3; it++) {
			__m256d ry2 = _mm256_mul_pd(r2, _mm256_mul_pd(y, y));
			y = _mm256_mul_pd(_mm256_mul_pd(y, half), _mm256_sub_pd(three, ry2));
		}
		__m256d tv = _mm256_loadu_pd(t + k);
		__m256d d = _mm256_fmsub_pd(r2, y, tv); // |X| − t
		acc = _mm256_fmadd_pd(d, d, acc);
		if (map) {
			__m256d sc = _mm256_fmadd_pd(vb, _mm256_mul_pd(tv, y), va);
			_mm256_storeu_pd(spec + 2*k, _mm256_mul_pd(a, _mm256_permute4x64_pd(sc, 0x50)));
			_mm256_storeu_pd(spec + 2*k + 4, _mm256_mul_pd(b, _mm256_permute4x64_pd(sc, 0xFA)));
		}
	}
	double lanes[4];
	_mm256_storeu_pd(lanes, acc);
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest + rp_map_scalar(spec, t, k, bins, alpha, beta, map);
}

// rp_have_avx2 is set once by rp_detect_cpu from the package's init, before any execution, so
// concurrent passes only ever read it.
static int rp_have_avx2 = 0;

static void rp_detect_cpu(void) {
	__builtin_cpu_init();
	rp_have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// rp_magnitude_map is fft.MagnitudeMap: the map over n complex values, AVX2 when available.
static double rp_magnitude_map(double *restrict spec, const double *restrict t, int n, double alpha, double beta) {
	return rp_have_avx2 ? rp_map_avx2(spec, t, n, alpha, beta, 1) : rp_map_scalar(spec, t, 0, n, alpha, beta, 1);
}

// rp_magnitude_pass is fft.Plan.MagnitudePass for the FFTW backend: windowing, r2c, the
// per-bin magnitude map, c2r and windowed accumulation in one call (one cgo crossing per frame).
// frame and spec must have the alignment the plans fwd and inv were made for (the caller picks
// the plans).
static double rp_magnitude_pass(fftw_plan fwd, fftw_plan inv, int n, double *restrict acc,
		const double *restrict x, const double *restrict win, const double *restrict t,
		double alpha, double beta, int from, double *restrict frame, double *restrict spec) {
	int bins = n / 2 + 1;
	for (int i = 0; i < n; i++) frame[i] = win[i] * x[i];
	fftw_execute_dft_r2c(fwd, frame, (fftw_complex *)spec);
	// The end bins count once in the two-sided sum, the others twice.
	double d0 = sqrt(spec[0]*spec[0] + spec[1]*spec[1]) - t[0];
	double dl = sqrt(spec[2*bins-2]*spec[2*bins-2] + spec[2*bins-1]*spec[2*bins-1]) - t[bins-1];
	int map = acc != 0;
	double sum = rp_have_avx2 ? rp_map_avx2(spec, t, bins, alpha, beta, map)
	                          : rp_map_scalar(spec, t, 0, bins, alpha, beta, map);
	if (map) {
		fftw_execute_dft_c2r(inv, (fftw_complex *)spec, frame);
		for (int i = from; i < n; i++) acc[i] += win[i] * frame[i];
	}
	return 2*sum - d0*d0 - dl*dl;
}
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

const defaultBackend = "fftw"

// plannerMu serialises every call into FFTW's planner (plan creation and destruction), which is
// not thread-safe. Execution (fftw_execute_dft_*) is thread-safe and is not guarded.
var plannerMu sync.Mutex

// simdAlign is FFTW's alignment modulus in bytes, read once; checking it in Go saves a cgo call
// per execution.
var simdAlign = uintptr(C.rp_alignment())

func init() { C.rp_detect_cpu() }

func aligned(a, b unsafe.Pointer) bool {
	return uintptr(a)%simdAlign == 0 && uintptr(b)%simdAlign == 0
}

// fftwPlan holds two plans per direction, made once with FFTW_MEASURE:
//   - aligned: planned on fftw_malloc'd buffers, so it may use SIMD codelets that need
//     FFTW's alignment; used with the new-array execute functions when both caller buffers are
//     aligned (Go's allocator normally returns 16-byte aligned slices of this size);
//   - unaligned: planned with FFTW_UNALIGNED, valid for any caller buffers (e.g. sub-slices
//     starting at an odd float64 offset).
//
// Nothing is copied: FFTW reads and writes the caller's Go slices directly during the cgo call and
// keeps no pointer to them afterwards, as cgo's pointer rules require.
type fftwPlan struct {
	n         int
	fwd, fwdU C.fftw_plan
	inv, invU C.fftw_plan
	closed    bool
}

func newDefault(n int) backend {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	bins := n/2 + 1
	re := (*C.double)(C.fftw_malloc(C.size_t(n * 8)))
	cx := (*C.fftw_complex)(C.fftw_malloc(C.size_t(bins * 16)))
	defer C.fftw_free(unsafe.Pointer(re))
	defer C.fftw_free(unsafe.Pointer(cx))
	// FFTW_MEASURE overwrites the arrays while planning; they are scratch here.
	// FFTW_DESTROY_INPUT is c2r's default and lets FFTW pick its fastest algorithm; the Plan
	// documents that Inverse's src is scratch.
	p := &fftwPlan{n: n}
	p.fwd = C.fftw_plan_dft_r2c_1d(C.int(n), re, cx, C.FFTW_MEASURE)
	p.inv = C.fftw_plan_dft_c2r_1d(C.int(n), cx, re, C.FFTW_MEASURE|C.FFTW_DESTROY_INPUT)
	p.fwdU = C.fftw_plan_dft_r2c_1d(C.int(n), re, cx, C.FFTW_MEASURE|C.FFTW_UNALIGNED)
	p.invU = C.fftw_plan_dft_c2r_1d(C.int(n), cx, re, C.FFTW_MEASURE|C.FFTW_UNALIGNED|C.FFTW_DESTROY_INPUT)
	if p.fwd == nil || p.inv == nil || p.fwdU == nil || p.invU == nil {
		panic("fft: FFTW could not plan a transform of this length")
	}
	runtime.SetFinalizer(p, func(p *fftwPlan) { p.close() })
	return p
}

func (p *fftwPlan) forward(dst []complex128, src []float64) {
	in := (*C.double)(unsafe.Pointer(&src[0]))
	out := (*C.fftw_complex)(unsafe.Pointer(&dst[0]))
	if aligned(unsafe.Pointer(in), unsafe.Pointer(out)) {
		C.fftw_execute_dft_r2c(p.fwd, in, out)
	} else {
		C.fftw_execute_dft_r2c(p.fwdU, in, out)
	}
}

func (p *fftwPlan) inverse(dst []float64, src []complex128) {
	in := (*C.fftw_complex)(unsafe.Pointer(&src[0]))
	out := (*C.double)(unsafe.Pointer(&dst[0]))
	if aligned(unsafe.Pointer(in), unsafe.Pointer(out)) {
		C.fftw_execute_dft_c2r(p.inv, in, out)
	} else {
		C.fftw_execute_dft_c2r(p.invU, in, out)
	}
}

func (p *fftwPlan) close() {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	C.fftw_destroy_plan(p.fwd)
	C.fftw_destroy_plan(p.inv)
	C.fftw_destroy_plan(p.fwdU)
	C.fftw_destroy_plan(p.invU)
	runtime.SetFinalizer(p, nil)
}

func (p *fftwPlan) magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int, frame []float64, spec []complex128) float64 {
	fr := unsafe.Pointer(&frame[0])
	sp := unsafe.Pointer(&spec[0])
	fwd, inv := p.fwdU, p.invU
	if aligned(fr, sp) {
		fwd, inv = p.fwd, p.inv
	}
	var accp *C.double
	if acc != nil {
		accp = (*C.double)(unsafe.Pointer(&acc[0]))
	}
	return float64(C.rp_magnitude_pass(fwd, inv, C.int(p.n), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), C.int(from), (*C.double)(fr), (*C.double)(sp)))
}

// fftwCmplx holds FFTW complex plans per direction: out of place on aligned buffers, planned
// with FFTW_MEASURE (up to 1<<16 points; FFTW_ESTIMATE above, where measuring takes many seconds),
// and fallbacks planned with FFTW_ESTIMATE: unaligned and in place. Measuring the two main plans
// at 22500 points takes about 1.8 s (measuring all six took 5.6 s); the estimated fallbacks run
// about 2× slower. A time limit on planning (fftw_set_timelimit 0.25 s) was tried and gave plans
// 2.3× slower (233 µs against 100 µs per 22500-point transform), so planning is unbounded.
type fftwCmplx struct {
	n                int
	fwd, fwdU, fwdIP C.fftw_plan
	inv, invU, invIP C.fftw_plan
	closed           bool
}

func newDefaultCmplx(n int) cmplxBackend {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	a := (*C.fftw_complex)(C.fftw_malloc(C.size_t(n * 16)))
	b := (*C.fftw_complex)(C.fftw_malloc(C.size_t(n * 16)))
	defer C.fftw_free(unsafe.Pointer(a))
	defer C.fftw_free(unsafe.Pointer(b))
	flags := C.uint(C.FFTW_MEASURE)
	if n > 1<<16 {
		flags = C.FFTW_ESTIMATE
	}
	p := &fftwCmplx{n: n}
	p.fwd = C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_FORWARD, flags)
	p.inv = C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_BACKWARD, flags)
	p.fwdU = C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_FORWARD, C.FFTW_ESTIMATE|C.FFTW_UNALIGNED)
	p.invU = C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_BACKWARD, C.FFTW_ESTIMATE|C.FFTW_UNALIGNED)
	p.fwdIP = C.fftw_plan_dft_1d(C.int(n), a, a, C.FFTW_FORWARD, C.FFTW_ESTIMATE|C.FFTW_UNALIGNED)
	p.invIP = C.fftw_plan_dft_1d(C.int(n), a, a, C.FFTW_BACKWARD, C.FFTW_ESTIMATE|C.FFTW_UNALIGNED)
	if p.fwd == nil || p.inv == nil || p.fwdU == nil || p.invU == nil || p.fwdIP == nil || p.invIP == nil {
		panic("fft: FFTW could not plan a complex transform of this length")
	}
	runtime.SetFinalizer(p, func(p *fftwCmplx) { p.close() })
	return p
}

func (p *fftwCmplx) exec(aligned, unaligned, inPlace C.fftw_plan, dst, src []complex128) {
	in := (*C.fftw_complex)(unsafe.Pointer(&src[0]))
	out := (*C.fftw_complex)(unsafe.Pointer(&dst[0]))
	switch {
	case in == out:
		C.fftw_execute_dft(inPlace, in, out)
	case uintptr(unsafe.Pointer(in))%simdAlign == 0 && uintptr(unsafe.Pointer(out))%simdAlign == 0:
		C.fftw_execute_dft(aligned, in, out)
	default:
		C.fftw_execute_dft(unaligned, in, out)
	}
}

func (p *fftwCmplx) forward(dst, src []complex128) { p.exec(p.fwd, p.fwdU, p.fwdIP, dst, src) }
func (p *fftwCmplx) inverse(dst, src []complex128) { p.exec(p.inv, p.invU, p.invIP, dst, src) }

func (p *fftwCmplx) close() {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, q := range []C.fftw_plan{p.fwd, p.inv, p.fwdU, p.invU, p.fwdIP, p.invIP} {
		C.fftw_destroy_plan(q)
	}
	runtime.SetFinalizer(p, nil)
}

func magnitudeMap(spec []complex128, t []float64, alpha, beta float64) float64 {
	return float64(C.rp_magnitude_map((*C.double)(unsafe.Pointer(&spec[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.int(len(spec)), C.double(alpha), C.double(beta)))
}
