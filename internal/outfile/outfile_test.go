//go:build unix

package outfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, text); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestNewFileHonoursUmask: 0644 under umask 022, 0600 under 077 (issue 14: every output was 0600).
func TestNewFileHonoursUmask(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		umask int
		want  fs.FileMode
	}{{0o022, 0o644}, {0o077, 0o600}, {0o002, 0o664}} {
		old := syscall.Umask(c.umask)
		p := filepath.Join(dir, "new.wav")
		os.Remove(p)
		write(t, p, "x")
		syscall.Umask(old)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.want {
			t.Errorf("umask %03o: mode %v, want %v", c.umask, fi.Mode().Perm(), c.want)
		}
	}
	noTemp(t, dir)
}

func TestReplaceKeepsModeAndIsAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.wav")
	os.WriteFile(p, []byte("old"), 0o640)
	os.Chmod(p, 0o640)
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "new")
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("target changed before Commit: %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new" || fi.Mode().Perm() != 0o640 {
		t.Errorf("after Commit: %q, mode %v; want \"new\", -rw-r-----", b, fi.Mode().Perm())
	}
	noTemp(t, dir)
}

// TestCloseWithoutCommitCleansUp covers the error path and a panic: the target keeps its old
// contents (or does not appear) and no temporary file is left.
func TestCloseWithoutCommitCleansUp(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.wav")
	os.WriteFile(old, []byte("old"), 0o644)
	fresh := filepath.Join(dir, "fresh.wav")
	for _, p := range []string{old, fresh} {
		f, err := Create(p)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "partial")
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err == nil {
			t.Error("Commit after Close succeeded")
		}
		func() {
			defer func() { recover() }()
			f, err := Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			io.WriteString(f, "partial")
			panic("mid-write")
		}()
	}
	if b, _ := os.ReadFile(old); string(b) != "old" {
		t.Errorf("old file now %q", b)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("abandoned new file exists: %v", err)
	}
	noTemp(t, dir)
}

// TestSymlinkIsFollowed: the link stays a link and its target gets the data; a dangling link
// creates its target.
func TestSymlinkIsFollowed(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	target := filepath.Join(dir, "sub", "real.wav")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.wav")
	os.Symlink("sub/real.wav", link)
	link2 := filepath.Join(dir, "link2.wav") // a chain of two
	os.Symlink("link.wav", link2)
	write(t, link2, "new")
	for _, l := range []string{link, link2} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink (%v)", l, err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	dangling := filepath.Join(dir, "dangling.wav")
	os.Symlink("sub/created.wav", dangling)
	write(t, dangling, "made")
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "created.wav")); string(b) != "made" {
		t.Errorf("dangling link's target holds %q", b)
	}
	loop := filepath.Join(dir, "loop.wav")
	os.Symlink("loop.wav", loop)
	if _, err := Create(loop); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("symlink loop: %v", err)
	}
	noTemp(t, dir)
	noTemp(t, filepath.Join(dir, "sub"))
}

// TestDevicesAndFIFOsAreWrittenInPlace: /dev/null stays a device (issue 14: as root it became a
// regular file) and a FIFO receives the data.
func TestDevicesAndFIFOsAreWrittenInPlace(t *testing.T) {
	write(t, "/dev/null", "discard me")
	if fi, err := os.Lstat("/dev/null"); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a character device: %v %v", fi.Mode(), err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	write(t, fifo, "through the pipe")
	if s := <-got; s != "through the pipe" {
		t.Errorf("FIFO reader got %q", s)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("FIFO replaced: %v", fi.Mode())
	}
	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory target: %v", err)
	}
	noTemp(t, dir)
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.wav")
	os.Symlink("in.wav", link)
	hard := filepath.Join(dir, "hard.wav")
	os.Link(in, hard)
	other := filepath.Join(dir, "other.wav")
	os.WriteFile(other, []byte("x"), 0o644)
	for _, out := range []string{in, link, hard, filepath.Join(dir, ".", "in.wav")} {
		if m, ok := SameFile(out, "-", other, in); !ok || m != in {
			t.Errorf("SameFile(%s) = %q, %v; want %s", out, m, ok, in)
		}
	}
	if _, ok := SameFile(filepath.Join(dir, "new.wav"), in); ok {
		t.Error("a new output matched an input")
	}
	if _, ok := SameFile(other, in, "-"); ok {
		t.Error("a different file matched")
	}
}

// TestCleanupRemovesLiveTemporaryFiles: what a signal handler calls before exiting.
func TestCleanupRemovesLiveTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	a, err := Create(filepath.Join(dir, "a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "done.wav"), "kept")
	b, err := Create(filepath.Join(dir, "b.wav"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "partial")
	Cleanup()
	noTemp(t, dir)
	if got, _ := os.ReadFile(filepath.Join(dir, "done.wav")); string(got) != "kept" {
		t.Errorf("committed file: %q", got)
	}
	if err := a.Commit(); err == nil {
		t.Error("Commit after Cleanup succeeded")
	}
	b.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files: %v", ents)
	}
}
