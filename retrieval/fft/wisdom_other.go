//go:build cgo && !purego && !unix

package fft

import "errors"

// lockWisdom has no cross-process lock on this system, so the Wisdom planning mode estimates.
func lockWisdom() (string, func(), error) {
	return "", nil, errors.New("fft: no wisdom file lock on this system")
}
