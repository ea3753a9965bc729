//go:build cgo && !purego && unix

package fft

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockWisdom returns the path of this machine's FFTW wisdom file for the Wisdom planning mode
// (os.UserCacheDir()/rephase/fftw-wisdom, or $REPHASE_FFTW_WISDOM if set) and holds an exclusive
// advisory lock (flock) on its companion lock file until unlock is called, so that concurrent
// processes take turns at measuring and the second uses what the first measured.
func lockWisdom() (path string, unlock func(), err error) {
	path = os.Getenv("REPHASE_FFTW_WISDOM")
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", nil, err
		}
		path = filepath.Join(dir, "rephase", "fftw-wisdom")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", nil, err
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return "", nil, err
	}
	return path, func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
