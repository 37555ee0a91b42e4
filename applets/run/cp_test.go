//go:build linux

package run

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
	"testing"
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
	if err := writeTar(&buf, root, rel, name); err != nil {
		t.Fatalf("writeTar(%s, %s) = %v", dir, rel, err)
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
