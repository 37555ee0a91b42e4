//go:build linux

package containers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
)

// fakeInfo is enough of an os.FileInfo for tidyChanges.
type fakeInfo struct {
	os.FileInfo
	dir  bool
	size int64
}

func (f fakeInfo) IsDir() bool { return f.dir }
func (f fakeInfo) Size() int64 { return f.size }
func (f fakeInfo) Mode() os.FileMode {
	if f.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}

func lines(cs []fileChange) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

func TestTidyChanges(t *testing.T) {
	file, dir := fakeInfo{}, fakeInfo{dir: true}
	raw := []fileChange{
		{Change{Added, "/etc/hosts"}, file},             // lepton's bind target: hidden
		{Change{Added, "/etc/resolv.conf"}, file},       // hidden
		{Change{Added, "/etc/mine"}, fakeInfo{size: 3}}, // a real file
		{Change{Added, "/proc"}, dir},                   // the runtime's mountpoint: hidden
		{Change{Added, "/sys"}, dir},                    // hidden, but holds a change
		{Change{Added, "/sys/x"}, file},
		{Change{Deleted, "/a/b/c"}, nil},
		{Change{Modified, "/a/b/d"}, file},
		{Change{Added, "/hostname"}, file}, // only /etc/hostname is lepton's
	}
	want := "C /a\nC /a/b\nD /a/b/c\nC /a/b/d\nC /etc\nA /etc/mine\nA /hostname\nA /sys\nA /sys/x\n"
	if got := lines(tidyChanges(raw)); got != want {
		t.Errorf("tidyChanges =\n%s\nwant\n%s", got, want)
	}
}

// TestOverlayChanges makes changes through a real overlay mount and
// checks that reading its upper directory finds what the walk of both
// trees finds, docker's lines for each.
func TestOverlayChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount an overlay")
	}
	tmp := t.TempDir()
	lower, upper, work, merged := filepath.Join(tmp, "lower"), filepath.Join(tmp, "upper"), filepath.Join(tmp, "work"), filepath.Join(tmp, "merged")
	for _, d := range []string{upper, work, merged, lower + "/etc/sub", lower + "/var/www", lower + "/opq/deep", lower + "/keep", lower + "/mode", lower + "/todir", lower + "/link"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(lower + "/todir")
	old := time.Unix(1000, 0)
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/sub/f", "/opq/a", "/opq/deep/b", "/keep/k", "/todir"} {
		if err := os.WriteFile(lower+f, []byte("base\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(lower+f, old, old)
	}
	os.Remove(lower + "/link")
	os.Symlink("/etc", lower+"/link") // a symlink to an absolute path: never to be followed
	m := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"index=off", "lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work}}
	if err := m.Mount(merged); err != nil {
		t.Skipf("cannot mount an overlay here: %v", err)
	}
	do := func(f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	do(func() error { return os.WriteFile(merged+"/added", []byte("new\n"), 0o644) })
	do(func() error { return os.WriteFile(merged+"/etc/passwd", []byte("changed\n"), 0o644) })
	do(func() error { return os.Remove(merged + "/etc/group") })
	do(func() error { return os.RemoveAll(merged + "/var/www") })
	do(func() error { return os.RemoveAll(merged + "/opq") })
	do(func() error { return os.MkdirAll(merged+"/opq/deep", 0o755) })
	do(func() error { return os.WriteFile(merged+"/opq/deep/new", nil, 0o644) })
	do(func() error { return os.Chmod(merged+"/mode", 0o700) })
	do(func() error { return os.Remove(merged + "/todir") })
	do(func() error { return os.Mkdir(merged+"/todir", 0o755) })
	do(func() error { return os.WriteFile(merged+"/todir/in", nil, 0o644) })
	do(func() error { return os.Remove(merged + "/link") })
	do(func() error { return os.MkdirAll(merged+"/link/passwd", 0o755) })
	do(func() error { return os.WriteFile(merged+"/etc/hosts", nil, 0o644) })
	if err := mount.UnmountAll(merged, 0); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"A /added", "C /etc", "D /etc/group", "C /etc/passwd",
		"C /link", "A /link/passwd", // was a symlink: its target's passwd is never looked at
		"C /mode",
		"C /opq", "D /opq/a", "C /opq/deep", "D /opq/deep/b", "A /opq/deep/new",
		"C /todir", "A /todir/in",
		"C /var", "D /var/www",
	}, "\n") + "\n"
	ctx := context.Background()
	fast, err := overlayChanges(ctx, lower, upper, "trusted.overlay.")
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(tidyChanges(fast)); got != want {
		t.Errorf("from the upper directory:\n%s\nwant\n%s", got, want)
	}
	ro := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + upper + ":" + lower}}
	if err := ro.Mount(merged); err != nil {
		t.Fatal(err)
	}
	defer mount.UnmountAll(merged, 0)
	slow, err := walkChanges(ctx, lower, merged)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(tidyChanges(slow)); got != want {
		t.Errorf("from both trees:\n%s\nwant\n%s", got, want)
	}
	if slices.ContainsFunc(fast, func(c fileChange) bool { return strings.HasPrefix(c.Path, "/etc/hosts") && !isRuntimeMountpoint(c) }) {
		t.Errorf("/etc/hosts is not taken for lepton's mountpoint")
	}
}

// TestOverlayRedirect checks that an upper directory holding a renamed
// directory of the layer below (overlayfs's redirect_dir) is not read on
// its own: overlayChanges says so, and the walk of both trees is used.
func TestOverlayRedirect(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount an overlay")
	}
	tmp := t.TempDir()
	lower, upper, work, merged := filepath.Join(tmp, "lower"), filepath.Join(tmp, "upper"), filepath.Join(tmp, "work"), filepath.Join(tmp, "merged")
	for _, d := range []string{upper, work, merged, lower + "/dir"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(lower+"/dir/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"redirect_dir=on", "lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work}}
	if err := m.Mount(merged); err != nil {
		t.Skipf("cannot mount an overlay with redirect_dir here: %v", err)
	}
	err := os.Rename(merged+"/dir", merged+"/moved")
	mount.UnmountAll(merged, 0)
	if err != nil {
		t.Skipf("no redirect: %v", err)
	}
	if _, err := overlayChanges(context.Background(), lower, upper, "trusted.overlay."); err != errRedirect {
		t.Errorf("overlayChanges = %v, want errRedirect", err)
	}
}
