package outfile

import "fmt"

// WriteAt writes p at byte offset off of a file written through a temporary file (a regular
// target), as a streaming writer patches a header whose sizes it learns only at the end. A
// device or FIFO written in place cannot seek: WriteAt returns an error for it (see Seekable).
func (o *File) WriteAt(p []byte, off int64) (int, error) {
	if o.tmp == "" {
		return 0, fmt.Errorf("%s: cannot seek in a device or FIFO", o.name)
	}
	n, err := o.f.WriteAt(p, off)
	if err != nil {
		err = fmt.Errorf("%s: %w", o.name, unwrapPath(err))
	}
	return n, err
}

// Seekable reports whether WriteAt works: the target is a regular file, written through a
// temporary file.
func (o *File) Seekable() bool { return o.tmp != "" }
