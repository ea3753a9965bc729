// Package outfile creates the files rephase's commands write (WAVs, frame streams), the one way
// every command writes its output.
//
// A regular file (new or existing) is written to a temporary file, ".NAME.tmpNNNNNNNNNN" in the
// target's directory, and renamed over the target only by Commit, so a failed or interrupted
// write never leaves a partial output and never destroys the previous contents. Close before
// Commit removes the temporary file; deferring Close right after Create therefore cleans up on
// every error path and when the goroutine panics. A process killed by a signal runs no deferred
// calls: a command that does not drain on SIGINT and SIGTERM itself calls Cleanup from its signal
// handler before exiting. (A panic on another goroutine still leaves the temporary file.)
//
// Anything else is written in place, as a shell redirection would:
//   - a device or FIFO (/dev/null, /dev/stdout, a named pipe) is opened for writing directly,
//     since it cannot be replaced by renaming and must not be (renaming over /dev/null as root
//     would replace the device node with a regular file);
//   - "-" is standard output, written in place and never closed (a WAV header written there
//     cannot be patched: see Seekable);
//   - a symlink is followed to its final target (a dangling one names the file to create), and
//     that target is written as above, so the link stays a link.
//
// A new file is created with mode 0666 less the process's umask (0644 under umask 022), as
// os.Create does; replacing an existing regular file keeps its permission bits. Ownership and
// extra hard links of a replaced file are not preserved (the rename gives the target a new inode).
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Stdout is the file Create("-") writes. A command whose output is "-" keeps the process's
// standard output here and points os.Stdout at os.Stderr, so that its reports cannot corrupt
// the audio.
var Stdout = os.Stdout

// temps is the set of temporary files not yet committed or closed, for Cleanup.
var temps struct {
	sync.Mutex
	names map[string]bool
}

func track(name string, live bool) {
	temps.Lock()
	defer temps.Unlock()
	if temps.names == nil {
		temps.names = map[string]bool{}
	}
	if live {
		temps.names[name] = true
	} else {
		delete(temps.names, name)
	}
}

// Cleanup removes every temporary file of this process not yet committed or closed, for a signal
// handler that is about to exit the process. Safe for concurrent use.
func Cleanup() {
	temps.Lock()
	defer temps.Unlock()
	for name := range temps.names {
		os.Remove(name)
	}
	clear(temps.names)
}

// File is an output file being written. It is an io.Writer; it is not safe for concurrent use.
type File struct {
	f      *os.File
	name   string // as given to Create
	target string // the symlink-resolved path written or replaced
	tmp    string // the temporary file; "" when writing in place
	done   bool   // committed or closed
	stdout bool   // "-": os.Stdout, not closed
}

// maxLinks bounds the symlink chain Create follows, as Linux's ELOOP limit does.
const maxLinks = 40

// Create starts writing the output file path (see the package comment for what happens to
// regular files, devices, FIFOs and symlinks). Errors name the path.
func Create(path string) (*File, error) {
	if path == "-" {
		return &File{f: Stdout, name: "-", target: "-", stdout: true}, nil
	}
	target, fi, err := resolve(path)
	if err != nil {
		return nil, err
	}
	o := &File{name: path, target: target}
	if fi != nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s: is a directory", path)
		}
		// Devices and FIFOs: written in place. O_TRUNC is ignored by both.
		if o.f, err = os.OpenFile(target, os.O_WRONLY, 0); err != nil {
			return nil, err
		}
		return o, nil
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		tmp := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		// 0666 less the umask, applied by the kernel, as os.Create.
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: creating a temporary file beside it: %w", path, err)
		}
		o.f, o.tmp = f, tmp
		track(tmp, true)
		if fi != nil { // replacing: keep the permission bits
			if err := f.Chmod(fi.Mode().Perm()); err != nil {
				o.Close()
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		return o, nil
	}
	return nil, fmt.Errorf("%s: no free temporary file name in %s", path, dir)
}

// resolve follows path through symlinks to the file it names. It returns that path and its
// FileInfo, or a nil FileInfo when nothing exists there yet.
func resolve(path string) (string, fs.FileInfo, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, fi, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	return "", nil, fmt.Errorf("%s: too many levels of symbolic links", path)
}

// Name returns the path given to Create.
func (o *File) Name() string { return o.name }

// Write writes p to the file (the temporary file until Commit). Errors name the output path.
func (o *File) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%s: %w", o.name, unwrapPath(err))
	}
	return n, err
}

// unwrapPath strips the *fs.PathError that names the temporary file, so that errors name the
// output the user asked for.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Commit finishes the file: a temporary file is synced to disk, closed and renamed over the
// target; an in-place file is closed. On error the temporary file is removed and the target is
// untouched. Commit after Commit or Close returns an error.
func (o *File) Commit() error {
	if o.done {
		return fmt.Errorf("%s: commit after close", o.name)
	}
	if o.tmp == "" {
		o.done = true
		if o.stdout {
			return nil
		}
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("%s: %w", o.name, unwrapPath(err))
		}
		return nil
	}
	err := o.f.Sync()
	if err == nil {
		err = o.f.Close()
	}
	if err == nil {
		err = os.Rename(o.tmp, o.target)
	}
	if err != nil {
		o.Close()
		return fmt.Errorf("%s: %w", o.name, unwrapPath(err))
	}
	o.done = true
	track(o.tmp, false)
	return nil
}

// Close abandons an uncommitted file: the temporary file is closed and removed (an in-place
// target is just closed). After Commit it does nothing. Idempotent; meant to be deferred right
// after Create.
func (o *File) Close() error {
	if o.done {
		return nil
	}
	o.done = true
	if o.stdout {
		return nil
	}
	err := o.f.Close()
	if o.tmp != "" {
		if e := os.Remove(o.tmp); err == nil {
			err = e
		}
		track(o.tmp, false)
	}
	return err
}

// SameFile reports whether out names an existing file that is also one of inputs (after
// following symlinks and hard links, as os.SameFile). Inputs that do not exist, and "-", are
// ignored. It returns the matching input.
func SameFile(out string, inputs ...string) (string, bool) {
	fo, err := os.Stat(out)
	if err != nil {
		return "", false
	}
	for _, in := range inputs {
		if in == "" || in == "-" {
			continue
		}
		if fi, err := os.Stat(in); err == nil && os.SameFile(fo, fi) {
			return in, true
		}
	}
	return "", false
}
