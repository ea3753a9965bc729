//go:build cgo && !purego

package fft

/*
#cgo pkg-config: fftw3f
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#pragma GCC optimize ("no-math-errno", "no-trapping-math", "fp-contract=off")
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

// rpf_frame_map runs the per-bin map on one frame's spectrum (bins complex) and returns the
// frame's loss: the one-sided sum counted twice, less the DC and Nyquist bins' second count.
static double rpf_frame_map(float *restrict spec, const double *restrict t, int bins, double alpha, double beta, int map) {
	double r0 = hypot(spec[0], spec[1]), rl = hypot(spec[2*bins-2], spec[2*bins-1]);
	double d0 = r0 - (double)(float)t[0], dl = rl - (double)(float)t[bins-1];
	double sum = rpf_have_avx2 ? rpf_map_avx2(spec, t, bins, (float)alpha, (float)beta, map)
	                           : rpf_map_scalar(spec, t, 0, bins, (float)alpha, (float)beta, map);
	return 2*sum - d0*d0 - dl*dl;
}

// rpf_magnitude_pass is fft.SinglePass.MagnitudePass: x, win, t and acc in double; frame (n) and
// spec (n/2+1 complex) are the plan's aligned single-precision buffers.
static double rpf_magnitude_pass(fftwf_plan fwd, fftwf_plan inv, int n, double *restrict acc,
		const double *restrict x, const double *restrict win, const double *restrict t,
		double alpha, double beta, int from, float *restrict frame, float *restrict spec) {
	int bins = n / 2 + 1;
	if (rpf_have_avx2) rpf_window_avx2(frame, x, win, n); else rpf_window_base(frame, x, win, n);
	fftwf_execute_dft_r2c(fwd, frame, (fftwf_complex *)spec);
	int map = acc != 0;
	double loss = rpf_frame_map(spec, t, bins, alpha, beta, map);
	if (map) {
		fftwf_execute_dft_c2r(inv, (fftwf_complex *)spec, frame);
		if (rpf_have_avx2) rpf_accumulate_avx2(acc, win, frame, from, n); else rpf_accumulate_base(acc, win, frame, from, n);
	}
	return loss;
}

// Two real frames through one complex FFT (the "two real FFTs for the price of one" identity;
// E. O. Brigham, The Fast Fourier Transform and Its Applications, 1988, §9.3): with
// z = a + i·b, Z = DFT(z), the real frames' spectra are A[k] = (Z[k] + conj Z[n−k])/2 and
// B[k] = (Z[k] − conj Z[n−k])/(2i); after the map, Y[k] = A[k] + i·B[k] with Hermitian
// extension, and the inverse complex DFT of Y holds the inverse real DFTs of A and B in its real
// and imaginary parts. Debian's fftwf r2c plans of n_fft 512–1024 run their last stage in scalar
// code (hc2cfdft), while its complex plans are AVX throughout, so this pair costs about 0.7 of
// two r2c/c2r pairs (benchmarks/REPORT.md). The loops are compiled for AVX2 and the baseline,
// without FMA, so both compute the same bits.
#define RPF_PAIR_LOOPS(suffix, attr) \
attr static void rpf_pair_window##suffix(float *restrict z, const double *restrict xa, const double *restrict xb, const double *restrict win, int n) { \
	for (int i = 0; i < n; i++) { z[2*i] = (float)(win[i] * xa[i]); z[2*i+1] = (float)(win[i] * xb[i]); } \
} \
attr static void rpf_half_window##suffix(float *restrict z, const double *restrict xa, const double *restrict win, int n) { \
	for (int i = 0; i < n; i++) { z[2*i] = (float)(win[i] * xa[i]); z[2*i+1] = 0; } \
} \
attr static void rpf_pair_split##suffix(const float *restrict z, float *restrict a, float *restrict b, int n) { \
	int h = n / 2; \
	for (int k = 1; k < h; k++) { \
		int j = n - k; \
		float zr = z[2*k], zi = z[2*k+1], wr = z[2*j], wi = z[2*j+1]; \
		a[2*k] = 0.5f * (zr + wr); a[2*k+1] = 0.5f * (zi - wi); \
		b[2*k] = 0.5f * (zi + wi); b[2*k+1] = 0.5f * (wr - zr); \
	} \
	a[0] = z[0]; a[1] = 0; b[0] = z[1]; b[1] = 0; \
	a[2*h] = z[2*h]; a[2*h+1] = 0; b[2*h] = z[2*h+1]; b[2*h+1] = 0; \
} \
attr static void rpf_pair_merge##suffix(float *restrict z, const float *restrict a, const float *restrict b, int n) { \
	int h = n / 2; \
	for (int k = 1; k < h; k++) { \
		int j = n - k; \
		float ar = a[2*k], ai = a[2*k+1], br = b[2*k], bi = b[2*k+1]; \
		z[2*k] = ar - bi; z[2*k+1] = ai + br; \
		z[2*j] = ar + bi; z[2*j+1] = br - ai; \
	} \
	z[0] = a[0]; z[1] = b[0]; z[2*h] = a[2*h]; z[2*h+1] = b[2*h]; \
} \
attr static void rpf_pair_accumulate##suffix(double *restrict acc, const double *restrict win, const float *restrict z, int from, int n, double f) { \
	if (f == 1) { for (int i = from; i < n; i++) acc[i] += win[i] * (double)z[2*i]; } \
	else { for (int i = from; i < n; i++) acc[i] += win[i] * ((double)z[2*i] * f); } \
} \
attr static void rpf_pair_maxbits##suffix(const float *restrict z, int n, uint32_t *restrict ma, uint32_t *restrict mb) { \
	uint32_t a = 0, b = 0; \
	for (int i = 0; i < n; i++) { \
		union { float f; uint32_t u; } x, y; \
		x.f = z[2*i]; y.f = z[2*i+1]; \
		uint32_t ux = x.u & 0x7fffffffu, uy = y.u & 0x7fffffffu; \
		a = ux > a ? ux : a; b = uy > b ? uy : b; \
	} \
	*ma = a; *mb = b; \
} \
attr static void rpf_scale##suffix(float *restrict v, float f, int count, int stride) { \
	for (int i = 0; i < count; i++) v[i*stride] *= f; \
}
RPF_PAIR_LOOPS(_avx2, __attribute__((target("avx2"))))
RPF_PAIR_LOOPS(_base, )

// rpf_pair_pass is rpf_magnitude_pass on two frames at once, a at xa and b at xa + hop, with the
// complex plans cf (z → w) and ci (w → z) and the plan's buffers z, w (n complex) and sa, sb
// (n/2+1 complex). acca / accb are the frames' accumulators, 0 for a loss-only frame; a's
// samples are accumulated before b's, as the frame loop does. With tb = 0 there is no frame b:
// a runs alone with a zero imaginary part (even so the complex FFT is cheaper than an r2c/c2r
// pair of Debian's fftwf), and accb must be 0.
//
// The FFT's rounding scales with its whole input, so a frame much quieter than its partner would
// get errors of the louder frame's size. When the two windowed frames' peaks differ by more than
// 2⁶, the quieter one is multiplied by a power of two (up to 2¹⁰⁰) that brings its peak to the
// louder one's before the FFT, and its spectrum, map and gradient are brought back exactly
// around the map; each frame then has its own single-precision rounding. A NaN or infinity in
// one frame still reaches its partner through the shared FFT.
static double rpf_pair_pass(fftwf_plan cf, fftwf_plan ci, int n, int hop, double *acca, int froma,
		double *accb, int fromb, const double *xa, const double *win, const double *ta, const double *tb,
		double alpha, double beta, float *z, float *w, float *sa, float *sb) {
	int bins = n / 2 + 1, av = rpf_have_avx2;
	float fa = 1, fb = 1; // the power of two each lane was scaled by
	if (tb) {
		if (av) rpf_pair_window_avx2(z, xa, xa + hop, win, n); else rpf_pair_window_base(z, xa, xa + hop, win, n);
		uint32_t ma, mb;
		if (av) rpf_pair_maxbits_avx2(z, n, &ma, &mb); else rpf_pair_maxbits_base(z, n, &ma, &mb);
		if (ma != 0 && mb != 0 && ma < 0x7f800000u && mb < 0x7f800000u) {
			int d = (int)(ma >> 23) - (int)(mb >> 23); // the peaks' binary exponents differ by d
			if (d > 6) fb = ldexpf(1.0f, d < 100 ? d : 100);
			if (d < -6) fa = ldexpf(1.0f, -d < 100 ? -d : 100);
		}
		if (fa != 1) { if (av) rpf_scale_avx2(z, fa, n, 2); else rpf_scale_base(z, fa, n, 2); }
		if (fb != 1) { if (av) rpf_scale_avx2(z + 1, fb, n, 2); else rpf_scale_base(z + 1, fb, n, 2); }
	} else {
		if (av) rpf_half_window_avx2(z, xa, win, n); else rpf_half_window_base(z, xa, win, n);
	}
	fftwf_execute_dft(cf, (fftwf_complex *)z, (fftwf_complex *)w);
	if (av) rpf_pair_split_avx2(w, sa, sb, n); else rpf_pair_split_base(w, sa, sb, n);
	if (fa != 1) { if (av) rpf_scale_avx2(sa, 1 / fa, 2 * bins, 1); else rpf_scale_base(sa, 1 / fa, 2 * bins, 1); }
	if (fb != 1) { if (av) rpf_scale_avx2(sb, 1 / fb, 2 * bins, 1); else rpf_scale_base(sb, 1 / fb, 2 * bins, 1); }
	double loss = rpf_frame_map(sa, ta, bins, alpha, beta, acca != 0);
	if (tb) loss += rpf_frame_map(sb, tb, bins, alpha, beta, accb != 0);
	if (acca || accb) {
		if (fa != 1) { if (av) rpf_scale_avx2(sa, fa, 2 * bins, 1); else rpf_scale_base(sa, fa, 2 * bins, 1); }
		if (fb != 1) { if (av) rpf_scale_avx2(sb, fb, 2 * bins, 1); else rpf_scale_base(sb, fb, 2 * bins, 1); }
		if (av) rpf_pair_merge_avx2(w, sa, sb, n); else rpf_pair_merge_base(w, sa, sb, n);
		fftwf_execute_dft(ci, (fftwf_complex *)w, (fftwf_complex *)z);
		if (acca) { if (av) rpf_pair_accumulate_avx2(acca, win, z, froma, n, 1.0 / fa); else rpf_pair_accumulate_base(acca, win, z, froma, n, 1.0 / fa); }
		if (accb) { if (av) rpf_pair_accumulate_avx2(accb, win, z + 1, fromb, n, 1.0 / fb); else rpf_pair_accumulate_base(accb, win, z + 1, fromb, n, 1.0 / fb); }
	}
	return loss;
}

// rpf_magnitude_passes is fft.SinglePass.MagnitudePasses: frames m = 0 … frames−1 at x + m·hop,
// two at a time through rpf_pair_pass (an odd last one alone, also complex), each
// accumulating from the fixed boundary on (acc + m·hop from sample max(0, fixed − m·hop)) unless it
// lies wholly before it or acc is 0. The losses are summed pair by pair, in frame order.
static double rpf_magnitude_passes(fftwf_plan cf, fftwf_plan ci,
		int n, int hop, int frames, long fixed, double *acc, const double *x, const double *win,
		const double *t, double alpha, double beta, float *spec, float *z, float *w, float *sb) {
	int bins = n / 2 + 1;
	double total = 0;
	for (int m = 0; m < frames; m += 2) {
		long o = (long)m * hop;
		int from[2] = {0, 0};
		double *a[2] = {0, 0};
		for (int j = 0; j < 2 && m + j < frames; j++) { // the frame's accumulator, if it reaches past fixed
			long oj = o + (long)j * hop;
			if (acc && oj + n > fixed) {
				a[j] = acc + oj;
				from[j] = fixed > oj ? (int)(fixed - oj) : 0;
			}
		}
		const double *tb = m + 1 < frames ? t + (long)(m + 1) * bins : 0; // 0: a lone last frame
		total += rpf_pair_pass(cf, ci, n, hop, a[0], from[0], a[1], from[1], x + o, win, t + (long)m * bins,
			tb, alpha, beta, z, w, spec, sb);
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
//
// cfwd and cinv are complex plans of length n (z → w and w → z) for MagnitudePasses, which runs
// frames in pairs through one complex FFT each way; specB holds the second frame's spectrum.
type fftwSingle struct {
	n          int
	fwd, inv   C.fftwf_plan
	cfwd, cinv C.fftwf_plan
	frame      *C.float
	spec       *C.fftwf_complex
	z, w       *C.fftwf_complex
	specB      *C.fftwf_complex
	closed     bool
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
	p.z = (*C.fftwf_complex)(C.fftwf_malloc(C.size_t(n * 8)))
	p.w = (*C.fftwf_complex)(C.fftwf_malloc(C.size_t(n * 8)))
	p.specB = (*C.fftwf_complex)(C.fftwf_malloc(C.size_t((n/2 + 1) * 8)))
	p.cfwd, p.cinv = planSingle(n, func(flags C.uint) (C.fftwf_plan, C.fftwf_plan) {
		return C.fftwf_plan_dft_1d(C.int(n), p.z, p.w, C.FFTW_FORWARD, flags),
			C.fftwf_plan_dft_1d(C.int(n), p.w, p.z, C.FFTW_BACKWARD, flags|C.FFTW_DESTROY_INPUT)
	})
	if p.fwd == nil || p.inv == nil || p.cfwd == nil || p.cinv == nil {
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
	return float64(C.rpf_magnitude_passes(p.cfwd, p.cinv, C.int(p.n), C.int(hop), C.int(frames), C.long(fixed), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), (*C.float)(unsafe.Pointer(p.spec)),
		(*C.float)(unsafe.Pointer(p.z)), (*C.float)(unsafe.Pointer(p.w)), (*C.float)(unsafe.Pointer(p.specB))))
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
	C.fftwf_destroy_plan(p.cfwd)
	C.fftwf_destroy_plan(p.cinv)
	C.fftwf_free(unsafe.Pointer(p.frame))
	C.fftwf_free(unsafe.Pointer(p.spec))
	C.fftwf_free(unsafe.Pointer(p.z))
	C.fftwf_free(unsafe.Pointer(p.w))
	C.fftwf_free(unsafe.Pointer(p.specB))
	runtime.SetFinalizer(p, nil)
}
