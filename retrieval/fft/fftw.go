//go:build cgo && !purego

package fft

/*
#cgo pkg-config: fftw3
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#pragma GCC optimize ("no-math-errno", "no-trapping-math", "fp-contract=off")
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
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

// rp_map_avx2 is rp_map_scalar for CPUs with AVX2, four bins at a time, with the same
// correctly rounded |X| = sqrt(re² + im²) and t/|X| (vector square root and division), so every
// bin's map and residual are the scalar path's bits; only the loss sum's order differs. On this
// project's machines (AMD EPYC) the vector divider is the fastest route: 260 ns for 257 bins,
// against 415 ns for 1/|X| from the single-precision reciprocal square root refined by three
// Newton steps, which this replaced. Returns Σ (|X| − t)² over all bins.
__attribute__((target("avx2")))
static double rp_map_avx2(double *restrict spec, const double *restrict t, int bins,
		double alpha, double beta, int map) {
	__m256d acc = _mm256_setzero_pd();
	const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta), zero = _mm256_setzero_pd();
	int k = 0;
	for (; k + 4 <= bins; k += 4) {
		__m256d a = _mm256_loadu_pd(spec + 2*k);     // re0 im0 re1 im1
		__m256d b = _mm256_loadu_pd(spec + 2*k + 4); // re2 im2 re3 im3
		// hadd gives r²0 r²2 r²1 r²3; permute to bin order.
		__m256d r = _mm256_sqrt_pd(_mm256_permute4x64_pd(_mm256_hadd_pd(_mm256_mul_pd(a, a), _mm256_mul_pd(b, b)), 0xD8));
		__m256d tv = _mm256_loadu_pd(t + k);
		__m256d d = _mm256_sub_pd(r, tv); // |X| − t
		acc = _mm256_add_pd(acc, _mm256_mul_pd(d, d));
		if (map) {
			// t/|X| where |X| > 0, else 0 (also for NaN, as the scalar path's r > 0 test).
			__m256d q = _mm256_and_pd(_mm256_cmp_pd(r, zero, _CMP_GT_OQ), _mm256_div_pd(tv, r));
			__m256d sc = _mm256_add_pd(va, _mm256_mul_pd(vb, q));
			_mm256_storeu_pd(spec + 2*k, _mm256_mul_pd(a, _mm256_permute4x64_pd(sc, 0x50)));
			_mm256_storeu_pd(spec + 2*k + 4, _mm256_mul_pd(b, _mm256_permute4x64_pd(sc, 0xFA)));
		}
	}
	double lanes[4];
	_mm256_storeu_pd(lanes, acc);
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rp_map_scalar(spec, t, k, bins, alpha, beta, map);
}
// rp_have_avx2 is set once by rp_detect_cpu from the package's init, before any execution, so
// concurrent passes only ever read it.
static int rp_have_avx2 = 0;

static void rp_detect_cpu(void) {
	__builtin_cpu_init();
	rp_have_avx2 = __builtin_cpu_supports("avx2");
}

// rp_magnitude_map is fft.MagnitudeMap: the map over n complex values, AVX2 when available.
static double rp_magnitude_map(double *restrict spec, const double *restrict t, int n, double alpha, double beta) {
	return rp_have_avx2 ? rp_map_avx2(spec, t, n, alpha, beta, 1) : rp_map_scalar(spec, t, 0, n, alpha, beta, 1);
}

// The windowing and windowed-accumulation loops, compiled for AVX2 and for the baseline (SSE2).
// Neither target has FMA, so nothing is contracted; the operations are element-wise, so both
// compute the same bits.
#define RP_LOOPS(suffix, attr) \
attr static void rp_window##suffix(double *restrict frame, const double *restrict x, const double *restrict win, int n) { \
	for (int i = 0; i < n; i++) frame[i] = win[i] * x[i]; \
} \
attr static void rp_accumulate##suffix(double *restrict acc, const double *restrict win, const double *restrict frame, int from, int n) { \
	for (int i = from; i < n; i++) acc[i] += win[i] * frame[i]; \
}
RP_LOOPS(_avx2, __attribute__((target("avx2"))))
RP_LOOPS(_base, )

// rp_magnitude_pass is fft.Plan.MagnitudePass for the FFTW backend: windowing, r2c, the
// per-bin magnitude map, c2r and windowed accumulation in one call (one cgo crossing per frame).
// frame and spec must have the alignment the plans fwd and inv were made for (the caller picks
// the plans).
static double rp_magnitude_pass(fftw_plan fwd, fftw_plan inv, int n, double *restrict acc,
		const double *restrict x, const double *restrict win, const double *restrict t,
		double alpha, double beta, int from, double *restrict frame, double *restrict spec) {
	int bins = n / 2 + 1;
	if (rp_have_avx2) rp_window_avx2(frame, x, win, n); else rp_window_base(frame, x, win, n);
	fftw_execute_dft_r2c(fwd, frame, (fftw_complex *)spec);
	// The end bins count once in the two-sided sum, the others twice.
	double d0 = sqrt(spec[0]*spec[0] + spec[1]*spec[1]) - t[0];
	double dl = sqrt(spec[2*bins-2]*spec[2*bins-2] + spec[2*bins-1]*spec[2*bins-1]) - t[bins-1];
	int map = acc != 0;
	double sum = rp_have_avx2 ? rp_map_avx2(spec, t, bins, alpha, beta, map)
	                          : rp_map_scalar(spec, t, 0, bins, alpha, beta, map);
	if (map) {
		fftw_execute_dft_c2r(inv, (fftw_complex *)spec, frame);
		if (rp_have_avx2) rp_accumulate_avx2(acc, win, frame, from, n); else rp_accumulate_base(acc, win, frame, from, n);
	}
	return 2*sum - d0*d0 - dl*dl;
}

// rp_magnitude_passes is fft.Plan.MagnitudePasses (rpf_magnitude_passes is its single-precision
// twin in fftw_single.go: each cgo preamble is its own C file): rp_magnitude_pass on frames m = 0 … frames−1
// at x + m·hop, t + m·(n/2+1) and acc + m·hop (acc NULL for frames wholly below fixed), the sums
// added in frame order.
static double rp_magnitude_passes(fftw_plan fwd, fftw_plan inv, int n, int hop, int frames, long fixed,
		double *acc, const double *x, const double *win, const double *t,
		double alpha, double beta, double *frame, double *spec) {
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
		total += rp_magnitude_pass(fwd, inv, n, a, x + o, win, t + (long)m * bins, alpha, beta, from, frame, spec);
	}
	return total;
}
*/
import "C"

import (
	"os"
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

func isAligned(a unsafe.Pointer) bool { return uintptr(a)%simdAlign == 0 }

// fftwPlan holds one plan per direction, made on fftw_malloc'd buffers so that it may use FFTW's
// SIMD codelets, and aligned scratch buffers of its own. Caller buffers that have FFTW's alignment
// are transformed in place of the scratch through the new-array execute functions; others are
// copied through the scratch. Either way the same plan runs, so the result never depends on where
// Go's allocator put a slice (bit-for-bit reproducibility; an unaligned plan would use other
// codelets and round differently). The copy costs about 5 % of an n = 512 transform.
//
// Nothing of the caller's is retained: FFTW reads and writes the caller's Go slices only during
// the cgo call, as cgo's pointer rules require.
type fftwPlan struct {
	n        int
	fwd, inv C.fftw_plan
	re       *C.double       // n aligned doubles (scratch)
	cx       *C.fftw_complex // n/2+1 aligned complex values (scratch)
	closed   bool
}

func newDefault(n int) backend {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	bins := n/2 + 1
	p := &fftwPlan{n: n}
	p.re = (*C.double)(C.fftw_malloc(C.size_t(n * 8)))
	p.cx = (*C.fftw_complex)(C.fftw_malloc(C.size_t(bins * 16)))
	// Measuring overwrites the arrays while planning; they are scratch here. FFTW_DESTROY_INPUT
	// is c2r's default and lets FFTW pick its fastest algorithm; the Plan documents that
	// Inverse's src is scratch.
	plans := planAll(n, func(flags C.uint) []C.fftw_plan {
		return []C.fftw_plan{
			C.fftw_plan_dft_r2c_1d(C.int(n), p.re, p.cx, flags),
			C.fftw_plan_dft_c2r_1d(C.int(n), p.cx, p.re, flags|C.FFTW_DESTROY_INPUT),
		}
	})
	if plans == nil {
		panic("fft: FFTW could not plan a transform of this length")
	}
	p.fwd, p.inv = plans[0], plans[1]
	runtime.SetFinalizer(p, func(p *fftwPlan) { p.close() })
	return p
}

// planAll makes a set of plans for one transform length with the flags of the package's Planning
// mode, and returns nil if FFTW could not make them all. mk must create every plan with the flags
// it is given (plus flags of its own). The caller holds plannerMu.
//
// Under Wisdom the machine-wide wisdom file is locked across processes while it is read, used and
// rewritten, so that a length is measured once per machine and every later process makes the very
// same plans from it. Measuring is capped at 1<<16 points, above which it takes seconds: larger
// lengths are always estimated.
func planAll(n int, mk func(flags C.uint) []C.fftw_plan) []C.fftw_plan {
	mode := currentPlanning()
	if n > 1<<16 || mode == Estimate {
		return allOrNil(mk(C.FFTW_ESTIMATE))
	}
	if mode == Measure {
		return allOrNil(mk(C.FFTW_MEASURE))
	}
	path, unlock, err := lockWisdom()
	if err != nil {
		// No cache directory to keep the measurements in: estimate, which is reproducible too.
		return allOrNil(mk(C.FFTW_ESTIMATE))
	}
	defer unlock()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.fftw_import_wisdom_from_filename(cpath) // a missing or corrupt file leaves the wisdom empty
	if plans := allOrNil(mk(C.FFTW_MEASURE | C.FFTW_WISDOM_ONLY)); plans != nil {
		return plans
	}
	plans := allOrNil(mk(C.FFTW_MEASURE))
	if plans != nil {
		tmp := C.CString(path + ".tmp")
		defer C.free(unsafe.Pointer(tmp))
		if C.fftw_export_wisdom_to_filename(tmp) != 0 {
			_ = os.Rename(path+".tmp", path)
		}
	}
	return plans
}

// allOrNil returns plans if none is nil, and otherwise destroys the ones made and returns nil.
func allOrNil(plans []C.fftw_plan) []C.fftw_plan {
	for _, q := range plans {
		if q == nil {
			for _, d := range plans {
				if d != nil {
					C.fftw_destroy_plan(d)
				}
			}
			return nil
		}
	}
	return plans
}

func (p *fftwPlan) forward(dst []complex128, src []float64) {
	in := (*C.double)(unsafe.Pointer(&src[0]))
	out := (*C.fftw_complex)(unsafe.Pointer(&dst[0]))
	ina, outa := isAligned(unsafe.Pointer(in)), isAligned(unsafe.Pointer(out))
	if !ina {
		copy(unsafe.Slice((*float64)(unsafe.Pointer(p.re)), p.n), src)
		in = p.re
	}
	if !outa {
		out = p.cx
	}
	C.fftw_execute_dft_r2c(p.fwd, in, out)
	if !outa {
		copy(dst, unsafe.Slice((*complex128)(unsafe.Pointer(p.cx)), p.n/2+1))
	}
}

func (p *fftwPlan) inverse(dst []float64, src []complex128) {
	in := (*C.fftw_complex)(unsafe.Pointer(&src[0]))
	out := (*C.double)(unsafe.Pointer(&dst[0]))
	ina, outa := isAligned(unsafe.Pointer(in)), isAligned(unsafe.Pointer(out))
	if !ina {
		copy(unsafe.Slice((*complex128)(unsafe.Pointer(p.cx)), p.n/2+1), src)
		in = p.cx
	}
	if !outa {
		out = p.re
	}
	C.fftw_execute_dft_c2r(p.inv, in, out)
	if !outa {
		copy(dst, unsafe.Slice((*float64)(unsafe.Pointer(p.re)), p.n))
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
	C.fftw_free(unsafe.Pointer(p.re))
	C.fftw_free(unsafe.Pointer(p.cx))
	runtime.SetFinalizer(p, nil)
}

// passScratch returns the pass's frame and spectrum scratch and the accumulator as C pointers:
// where the caller's scratch lacks FFTW's alignment, the plan's own aligned scratch stands in, so
// that the one (SIMD) plan always runs; acc nil is NULL.
func (p *fftwPlan) passScratch(acc, frame []float64, spec []complex128) (accp, fr, sp *C.double) {
	f := unsafe.Pointer(&frame[0])
	s := unsafe.Pointer(&spec[0])
	if !isAligned(f) {
		f = unsafe.Pointer(p.re)
	}
	if !isAligned(s) {
		s = unsafe.Pointer(p.cx)
	}
	if acc != nil {
		accp = (*C.double)(unsafe.Pointer(&acc[0]))
	}
	return accp, (*C.double)(f), (*C.double)(s)
}

func (p *fftwPlan) magnitudePass(acc, x, win, t []float64, alpha, beta float64, from int, frame []float64, spec []complex128) float64 {
	accp, fr, sp := p.passScratch(acc, frame, spec)
	return float64(C.rp_magnitude_pass(p.fwd, p.inv, C.int(p.n), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), C.int(from), fr, sp))
}

func (p *fftwPlan) magnitudePasses(acc, x, win, t []float64, hop, frames int, alpha, beta float64, fixed int, frame []float64, spec []complex128) float64 {
	accp, fr, sp := p.passScratch(acc, frame, spec)
	return float64(C.rp_magnitude_passes(p.fwd, p.inv, C.int(p.n), C.int(hop), C.int(frames), C.long(fixed), accp,
		(*C.double)(unsafe.Pointer(&x[0])), (*C.double)(unsafe.Pointer(&win[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.double(alpha), C.double(beta), fr, sp))
}

// fftwCmplx holds FFTW complex plans per direction, out of place and in place, made on
// fftw_malloc'd buffers, plus an aligned scratch buffer. As for fftwPlan, unaligned caller buffers
// are copied through the scratch so that the same plan runs whatever the addresses (bit-for-bit
// reproducibility). Under Measure planning, measuring the two out-of-place plans at 22500 points
// takes about 1.8 s, so lengths above 1<<16 are always estimated; a time limit on planning
// (fftw_set_timelimit 0.25 s) gave plans 2.3× slower and was dropped.
type fftwCmplx struct {
	n          int
	fwd, fwdIP C.fftw_plan
	inv, invIP C.fftw_plan
	bufA, bufB *C.fftw_complex // n aligned values each (scratch)
	closed     bool
}

func newDefaultCmplx(n int) cmplxBackend {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	p := &fftwCmplx{n: n}
	p.bufA = (*C.fftw_complex)(C.fftw_malloc(C.size_t(n * 16)))
	p.bufB = (*C.fftw_complex)(C.fftw_malloc(C.size_t(n * 16)))
	a, b := p.bufA, p.bufB
	plans := planAll(n, func(flags C.uint) []C.fftw_plan {
		return []C.fftw_plan{
			C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_FORWARD, flags),
			C.fftw_plan_dft_1d(C.int(n), a, b, C.FFTW_BACKWARD, flags),
			C.fftw_plan_dft_1d(C.int(n), a, a, C.FFTW_FORWARD, flags),
			C.fftw_plan_dft_1d(C.int(n), a, a, C.FFTW_BACKWARD, flags),
		}
	})
	if plans == nil {
		panic("fft: FFTW could not plan a complex transform of this length")
	}
	p.fwd, p.inv, p.fwdIP, p.invIP = plans[0], plans[1], plans[2], plans[3]
	runtime.SetFinalizer(p, func(p *fftwCmplx) { p.close() })
	return p
}

func (p *fftwCmplx) exec(outOfPlace, inPlace C.fftw_plan, dst, src []complex128) {
	in := (*C.fftw_complex)(unsafe.Pointer(&src[0]))
	out := (*C.fftw_complex)(unsafe.Pointer(&dst[0]))
	if in == out {
		if !isAligned(unsafe.Pointer(in)) {
			copy(unsafe.Slice((*complex128)(unsafe.Pointer(p.bufA)), p.n), src)
			C.fftw_execute_dft(inPlace, p.bufA, p.bufA)
			copy(dst, unsafe.Slice((*complex128)(unsafe.Pointer(p.bufA)), p.n))
			return
		}
		C.fftw_execute_dft(inPlace, in, out)
		return
	}
	outa := isAligned(unsafe.Pointer(out))
	if !isAligned(unsafe.Pointer(in)) {
		copy(unsafe.Slice((*complex128)(unsafe.Pointer(p.bufA)), p.n), src)
		in = p.bufA
	}
	if !outa {
		out = p.bufB
	}
	C.fftw_execute_dft(outOfPlace, in, out)
	if !outa {
		copy(dst, unsafe.Slice((*complex128)(unsafe.Pointer(p.bufB)), p.n))
	}
}

func (p *fftwCmplx) forward(dst, src []complex128) { p.exec(p.fwd, p.fwdIP, dst, src) }
func (p *fftwCmplx) inverse(dst, src []complex128) { p.exec(p.inv, p.invIP, dst, src) }

func (p *fftwCmplx) close() {
	plannerMu.Lock()
	defer plannerMu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, q := range []C.fftw_plan{p.fwd, p.inv, p.fwdIP, p.invIP} {
		C.fftw_destroy_plan(q)
	}
	C.fftw_free(unsafe.Pointer(p.bufA))
	C.fftw_free(unsafe.Pointer(p.bufB))
	runtime.SetFinalizer(p, nil)
}

func magnitudeMap(spec []complex128, t []float64, alpha, beta float64) float64 {
	return float64(C.rp_magnitude_map((*C.double)(unsafe.Pointer(&spec[0])), (*C.double)(unsafe.Pointer(&t[0])),
		C.int(len(spec)), C.double(alpha), C.double(beta)))
}
