//go:build !unix

package device

// Silenced runs f. On Unix it hides what the C audio libraries print to standard error while f
// runs; elsewhere they print nothing there that needs hiding.
func Silenced(f func() error) error { return f() }
