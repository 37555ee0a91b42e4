//go:build linux

package containers

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
)

func TestEntryName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/", "."},
		{"//", "."},
		{"/d", "d"},
		{"/d/sub/", "sub"},
		{"/d/.", "."},
		{"/d/sub/..", "d"},
		{"/..", "."},
		{"f", "f"},
	} {
		if got := entryName(tt.in); got != tt.want {
			t.Errorf("entryName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCopyPath(t *testing.T) {
	for _, tt := range []struct{ in, ctr, p string }{
		{"box:/etc/hosts", "box", "/etc/hosts"},
		{"box:", "box", ""},
		{"-", "", "-"},
		{"/a:b", "", "/a:b"}, // a host path that holds a colon
		{"./a:b", "", "./a:b"},
		{"file", "", "file"},
		{":x", "", ":x"},
	} {
		if ctr, p := SplitCopyPath(tt.in); ctr != tt.ctr || p != tt.p {
			t.Errorf("SplitCopyPath(%q) = %q, %q; want %q, %q", tt.in, ctr, p, tt.ctr, tt.p)
		}
	}
}

func TestCheckCopyPaths(t *testing.T) {
	for _, tt := range []struct {
		src, dst string
		ok       bool
	}{
		{"box:/f", "/tmp", true},
		{"-", "box:/", true},
		{"a:/f", "b:/f", false},
		{"/f", "-", false},
	} {
		err := CheckCopyPaths(tt.src, tt.dst)
		if (err == nil) != tt.ok || err != nil && !errdefs.IsInvalidArgument(err) {
			t.Errorf("CheckCopyPaths(%q, %q) = %v, want ok %v", tt.src, tt.dst, err, tt.ok)
		}
	}
}

func TestCopyExactly(t *testing.T) {
	for _, tt := range []struct {
		content string
		size    int64
		want    string
	}{
		{"abcd", 4, "abcd"},
		{"abcdef", 4, "abcd"},   // grew after its header was written
		{"ab", 4, "ab\x00\x00"}, // shrank
		{"", 3, "\x00\x00\x00"}, // emptied
		{"whatever", 0, ""},     // /proc style: size 0, content anyway
	} {
		var buf bytes.Buffer
		if err := copyExactly(&buf, strings.NewReader(tt.content), tt.size); err != nil || buf.String() != tt.want {
			t.Errorf("copyExactly(%q, %d) = %q, %v; want %q", tt.content, tt.size, buf.String(), err, tt.want)
		}
	}
}

// listTar archives rel of dir and returns the entry names, failing the
// test if the archive is not a valid one.
func listTar(t *testing.T, dir, rel, name string) []string {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var buf bytes.Buffer
	if err := WriteTar(&buf, root, rel, name); err != nil {
		t.Fatalf("WriteTar(%s, %s) = %v", dir, rel, err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("reading the archive of %s/%s: %v", dir, rel, err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func TestWriteTarPseudoFS(t *testing.T) {
	// The host's own /proc and /sys stand in for a running container's.
	for _, rel := range []string{"proc", "sys"} {
		if fi, err := os.Stat("/" + rel); err != nil || !fi.IsDir() || !pseudoFSAt(t, "/"+rel) {
			t.Logf("/%s is not a pseudo file system here; skipped", rel)
			continue
		}
		if got, want := listTar(t, "/", rel, rel), []string{rel + "/"}; !slices.Equal(got, want) {
			t.Errorf("archive of /%s = %q, want %q", rel, got, want)
		}
	}
}

func pseudoFSAt(t *testing.T, dir string) bool {
	root, err := os.OpenRoot(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	return pseudoFS(root, filepath.Base(dir))
}

func TestWriteTarRealProcDir(t *testing.T) {
	// A directory named proc on a real file system (an image may ship
	// one) is data like any other, and sockets are left out.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc", "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc", "self", "status"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := listTar(t, dir, ".", ".")
	want := []string{"./", "proc/", "proc/self/", "proc/self/status"}
	if !slices.Equal(got, want) {
		t.Errorf("archive = %q, want %q", got, want)
	}
}

func TestResolveSrc(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "d", "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ target, name string }{{"real", "d/link"}, {"d", "dl"}} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tt := range []struct {
		in     string
		follow bool
		want   string
	}{
		{"/d/link", false, "d/link"}, // the link itself
		{"/d/link", true, "d/real"},
		{"/d/link/", false, "d/real"}, // the contents of what it names
		{"/d/link/.", false, "d/real"},
		{"/dl/link", false, "d/link"}, // links above the last element are followed
		{"/", false, "."},
	} {
		if got, err := resolveSrc(root, tt.in, tt.follow); err != nil || got != tt.want {
			t.Errorf("resolveSrc(%q, %v) = %q, %v; want %q", tt.in, tt.follow, got, err, tt.want)
		}
	}
}

func TestWriteTarTopLink(t *testing.T) {
	// A link at the top is one entry, even to a directory or outside.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"sub", "/etc"} {
		os.Remove(filepath.Join(dir, "link"))
		if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		if got, want := listTar(t, dir, "link", "link"), []string{"link"}; !slices.Equal(got, want) {
			t.Errorf("archive of a link to %s = %q, want %q", target, got, want)
		}
	}
}

func TestExtractTarArchive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 7, Gid: 8},
		{Name: "f", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1234, Gid: 5678},
		{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "f", Uid: 42, Gid: 43},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	for _, archive := range []bool{false, true} {
		dir := t.TempDir()
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := extractTarAs(bytes.NewReader(buf.Bytes()), root, "out", CopyOptions{Archive: archive}); err != nil {
			t.Fatalf("extractTarAs(archive %v) = %v", archive, err)
		}
		root.Close()
		for _, tt := range []struct {
			name     string
			uid, gid uint32
			mode     os.FileMode
		}{
			{"out", 7, 8, 0},
			{"out/f", 1234, 5678, os.ModeSetuid | 0o755},
			{"out/l", 42, 43, 0},
		} {
			fi, err := os.Lstat(filepath.Join(dir, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if !archive {
				tt.uid, tt.gid = uint32(os.Geteuid()), uint32(os.Getegid())
			}
			if st.Uid != tt.uid || st.Gid != tt.gid {
				t.Errorf("archive %v: %s owned by %d:%d, want %d:%d", archive, tt.name, st.Uid, st.Gid, tt.uid, tt.gid)
			}
			if archive && tt.mode != 0 && fi.Mode()&(os.ModePerm|os.ModeSetuid) != tt.mode {
				t.Errorf("archive: %s has mode %v, want %v", tt.name, fi.Mode(), tt.mode)
			}
		}
	}
}
