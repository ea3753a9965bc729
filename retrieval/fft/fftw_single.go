//go:build cgo && !purego

package fft

/*
#cgo pkg-config: fftw3f
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#pragma GCC optimize ("no-math-errno", "no-trapping-math")
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <immintrin.h>

static int rpf_have_avx2 = 0;

static void rpf_detect_cpu(void) {
	__builtin_cpu_init();
	rpf_have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// rpf_map_scalar is the per-bin map of fft.Plan.MagnitudePass in single precision over bins
// [k0, k1); it returns Σ (|X| − t)² accumulated in double.
static double rpf_map_scalar(float *restrict spec, const double *restrict t, int k0, int k1,
		float alpha, float beta, int map) {
	double s0 = 0, s1 = 0;
	for (int k = k0; k < k1; k++) {
		// |X|² in double: in float it overflows above |X| ≈ 1.8e19 and underflows below 1e-19.
		double re = spec[2*k], im = spec[2*k+1];
		double r = sqrt(re*re + im*im);
		double tk = (double)(float)t[k];
		double d = r - tk;
		if ((k & 1) == 0) s0 += d * d; else s1 += d * d;
		if (map) {
			double q = r > 0 ? tk / r : 0.0;
			float sc = (float)(alpha + beta * q);
			spec[2*k] = sc * (float)re;
			spec[2*k+1] = sc * (float)im;
		}
	}
	return s0 + s1;
}

// rpf_map_avx2 is rpf_map_scalar eight bins at a time: 1/|X| from the hardware reciprocal
// square root (relative error ≤ 3.7e-4) refined by one Newton step, y ← y·(3 − r²y²)/2, to about
// 1e-7, single precision's rounding. Lanes with |X|² outside [1e-30, 1e30] take the scalar path.
__attribute__((target("avx2,fma")))
static double rpf_map_avx2(float *restrict spec, const double *restrict t, int bins,
		float alpha, float beta, int map) {
	__m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
	const __m256 lo = _mm256_set1_ps(1e-30f), hi = _mm256_set1_ps(1e30f);
	const __m256 three = _mm256_set1_ps(3.0f), half = _mm256_set1_ps(0.5f);
	const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
	const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
	const __m256i dupLo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
	const __m256i dupHi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
	double rest = 0;
	int k = 0;
	for (; k + 8 <= bins; k += 8) {
		__m256 a = _mm256_loadu_ps(spec + 2*k);     // re0 im0 … re3 im3
		__m256 b = _mm256_loadu_ps(spec + 2*k + 8); // re4 im4 … re7 im7
		// hadd gives r²0 r²1 r²4 r²5 | r²2 r²3 r²6 r²7; permute to bin order.
		__m256 r2 = _mm256_permutevar8x32_ps(_mm256_hadd_ps(_mm256_mul_ps(a, a), _mm256_mul_ps(b, b)), order);
		__m256 ok = _mm256_and_ps(_mm256_cmp_ps(r2, lo, _CMP_GE_OQ), _mm256_cmp_ps(r2, hi, _CMP_LE_OQ));
		if (_mm256_movemask_ps(ok) != 0xFF) {
			rest += rpf_map_scalar(spec, t, k, k + 8, alpha, beta, map);
			continue;
		}
		__m256 y = _mm256_rsqrt_ps(r2);
		y = _mm256_mul_ps(_mm256_mul_ps(y, half), _mm256_sub_ps(three, _mm256_mul_ps(r2, _mm256_mul_ps(y, y))));
		__m256 tv = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_loadu_pd(t + k + 4)), _mm256_cvtpd_ps(_mm256_loadu_pd(t + k)));
		__m256 d = _mm256_fmsub_ps(r2, y, tv); // |X| − t
		__m256d dl = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
		__m256d dh = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
		acc0 = _mm256_fmadd_pd(dl, dl, acc0);
		acc1 = _mm256_fmadd_pd(dh, dh, acc1);
		if (map) {
			__m256 sc = _mm256_fmadd_ps(vb, _mm256_mul_ps(tv, y), va);
			_mm256_storeu_ps(spec + 2*k, _mm256_mul_ps(a, _mm256_permutevar8x32_ps(sc, dupLo)));
			_mm256_storeu_ps(spec + 2*k + 8, _mm256_mul_ps(b, _mm256_permutevar8x32_ps(sc, dupHi)));
		}
	}
	double lanes[4];
	_mm256_storeu_pd(lanes, _mm256_add_pd(acc0, acc1));
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest + rpf_map_scalar(spec, t, k, bins, alpha, beta, map);
}

// The windowing and accumulation loops, compiled twice: for AVX2 and for the baseline. Without
// FMA in either target nothing is contracted, and the operations are element-wise, so both
// compute the same bits.
#define RPF_LOOPS(suffix, attr) \
attr static void rpf_window##suffix(float *restrict frame, const double *restrict x, const double *restrict win, int n) { \
	for (int i = 0; i < n; i++) frame[i] = (float)(win[i] * x[i]); \
} \
attr static void rpf_accumulate##suffix(double *restrict acc, const double *restrict win, const float *restrict frame, int from, int n) { \
	for (int i = from; i < n; i++) acc[i] += win[i] * (double)frame[i]; \
}
RPF_LOOPS(_avx2, __attribute__((target("avx2"))))
RPF_LOOPS(_base, )

// rpf_magnitude_pass is fft.SinglePass.MagnitudePass: x, win, t and acc in double; frame (n) and
// spec (n/2+1 complex) are the plan's aligned single-precision buffers.
static double rpf_magnitude_pass(fftwf_plan fwd, fftwf_plan inv, int n, double *restrict acc,
		const double *restrict x, const double *restrict win, const double *restrict t,
		double alpha, double beta, int from, float *restrict frame, float *restrict spec) {
	int bins = n / 2 + 1;
	if (rpf_have_avx2) rpf_window_avx2(frame, x, win, n); else rpf_window_base(frame, x, win, n);
	fftwf_execute_dft_r2c(fwd, frame, (fftwf_complex *)spec);
	double r0 = hypot(spec[0], spec[1]), rl = hypot(spec[2*bins-2], spec[2*bins-1]);
	double d0 = r0 - (double)(float)t[0], dl = rl - (double)(float)t[bins-1];
	int map = acc != 0;
	double sum = rpf_have_avx2 ? rpf_map_avx2(spec, t, bins, (float)alpha, (float)beta, map)
	                           : rpf_map_scalar(spec, t, 0, bins, (float)alpha, (float)beta, map);
	if (map) {
		fftwf_execute_dft_c2r(inv, (fftwf_complex *)spec, frame);
		if (rpf_have_avx2) rpf_accumulate_avx2(acc, win, frame, from, n); else rpf_accumulate_base(acc, win, frame, from, n);
	}
	return 2*sum - d0*d0 - dl*dl;
}

// rpf_magnitude_passes is fft.SinglePass.MagnitudePasses, as rp_magnitude_passes.
static double rpf_magnitude_passes(fftwf_plan fwd, fftwf_plan inv, int n, int hop, int frames, long fixed,
		double *acc, const double *x, const double *win, const double *t,
		double alpha, double beta, float *frame, float *spec) {
	int bins = n / 2 + 1;
	double total = 0;
	for (int m = 0; m < frames; m++) {
		long o = (long)m * hop;
		double *a = 0;
		int from = 0;
		if (acc && o + n > fixed) {
			a = acc + o;
			from = fixed > o ? (int)(fixed - o) : 0;
		}
		total += rpf_magnitude_pass(fwd, inv, n, a, x + o, win, t + (long)m * bins, alpha, beta, from, frame, spec);
	}
	return total;
}
*/
import "C"

import (
	"os"
	"runtime"
	"unsafe"
)

const singlePrecision = true

func init() { C.rpf_detect_cpu() }

// fftwSingle and planSingle are the single-precision twins of fftwPlan and planAll: FFTW's float
// library (fftwf_*) has its own types, planner state and wisdom, so they cannot share code.
//
// fftwSingle holds FFTW single-precision r2c and c2r plans of one length, made on (and always
// executed on) its own fftwf_malloc'd buffers, so that the same SIMD plan runs every time.
type fftwSingle struct {
	n        int
	fwd, inv C.fftwf_plan
	frame    *C.float
	spec     *C.fftwf_complex
	closed   bool
}

func newSingleDefault(n int) singleBackend {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	p := &fftwSingle{n: n}
	p.frame = (*C.float)(C.fftwf_malloc(C.size_t(n * 4)))
	p.spec = (*C.fftwf_complex)(C.fftwf_malloc(C.size_t((n/2 + 1) * 8)))
	mk := func(flags C.uint) (C.fftwf_plan, C.fftwf_plan) {
		return C.fftwf_plan_dft_r2c_1d(C.int(n), p.frame, p.spec, flags),
			C.fftwf_plan_dft_c2r_1d(C.int(n), p.spec, p.frame, flags|C.FFTW_DESTROY_INPUT)
	}
	p.fwd, p.inv = planSingle(n, mk)
	if p.fwd == nil || p.inv == nil {
		panic("fft: FFTW could not plan a single-precision transform of this length")
	}
	runtime.SetFinalizer(p, func(p *fftwSingle) { p.close() })
	return p
}

// planSingle is planAll for the single-precision library, which keeps its own wisdom: in the
// Wisdom mode it lives beside the double-precision file, with the suffix "-float32", under the
// same lock. The caller holds plannerMu.
func planSingle(n int, mk func(flags C.uint) (C.fftwf_plan, C.fftwf_plan)) (C.fftwf_plan, C.fftwf_plan) {
	both := func(flags C.uint) (C.fftwf_plan, C.fftwf_plan) {
		f, i := mk(flags)
		if f == nil || i == nil {
			if f != nil {
				C.fftwf_destroy_plan(f)
			}
			if i != nil {
				C.fftwf_destroy_plan(i)
			}
			return nil, nil
		}
		return f, i
	}
	mode := currentPlanning()
	if n > 1<<16 || mode == Estimate {
		return both(C.FFTW_ESTIMATE)
	}
	if mode == Measure {
		return both(C.FFTW_MEASURE)
	}
	path, unlock, err := lockWisdom()
	if err != nil {
		return both(C.FFTW_ESTIMATE)
	}
	defer unlock()
	path += "-float32"
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.fftwf_import_wisdom_from_filename(cpath)
	if f, i := both(C.FFTW_MEASURE | C.FFTW_WISDOM_ONLY); f != nil {
		return f, i
	}
	f, i := both(C.FFTW_MEASURE)
	if f != nil {
		tmp := C.CString(path + ".tmp")
		defer C.free(unsafe.Pointer(tmp))
		if C.fftwf_export_wisdom_to_filename(tmp) != 0 {
			_ = os.Rename(path+".tmp", path)
		}
	}
	return f, i
}

func (p *fftwSingle) magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int) float64 {
	var accp *C.double
	if acc != nil {
		accp = (*C.double)(unsafe.Pointer(&acc[0]))
	}
	return float64(C.rpf_magnitude_pass(p.fwd, p.inv, C.int(p.n), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), C.int(from), p.frame, (*C.float)(unsafe.Pointer(p.spec))))
}

func (p *fftwSingle) magnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int) float64 {
	var accp *C.double
	if acc != nil {
		accp = (*C.double)(unsafe.Pointer(&acc[0]))
	}
	return float64(C.rpf_magnitude_passes(p.fwd, p.inv, C.int(p.n), C.int(hop), C.int(frames), C.long(fixed), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), p.frame, (*C.float)(unsafe.Pointer(p.spec))))
}

func (p *fftwSingle) close() {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	C.fftwf_destroy_plan(p.fwd)
	C.fftwf_destroy_plan(p.inv)
	C.fftwf_free(unsafe.Pointer(p.frame))
	C.fftwf_free(unsafe.Pointer(p.spec))
	runtime.SetFinalizer(p, nil)
}
