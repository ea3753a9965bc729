//go:build cgo && !purego

package fft

/*
#cgo pkg-config: fftw3
#include <fftw3.h>
#include <stdint.h>

// rp_alignment returns the modulus FFTW's SIMD codelets align to (16 or 32 bytes, 1 without SIMD):
// the smallest power of two a with fftw_alignment_of(a) == 0.
static int rp_alignment(void) {
	for (uintptr_t a = 1; a < 4096; a <<= 1) {
		if (fftw_alignment_of((double *)a) == 0) return (int)a;
	}
	return 4096;
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
