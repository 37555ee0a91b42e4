//go:build !windows

package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNamesCommand(t *testing.T) {
	for args, want := range map[string]bool{
		"":                        false,
		".":                       false,
		"-t app .":                false,
		"build -t app .":          true,
		"prune -af":               true,
		"--namespace ci build .":  true,
		"--namespace prune .":     false, // "prune" is the namespace
		"-t prune .":              false, // and here the tag
		"--help":                  true,
		"--data-root=/x prune -f": true,
	} {
		if got := namesCommand(strings.Fields(args)); got != want {
			t.Errorf("%q: %v, want %v", args, got, want)
		}
	}
}

// tarOf writes entries: a name ending in / is a directory, "name>target"
// a symbolic link, anything else a file holding its own name.
func tarOf(t *testing.T, entries ...string) *bytes.Buffer {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		name, link, isLink := strings.Cut(e, ">")
		switch {
		case isLink:
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: link, Mode: 0o777})
		case strings.HasSuffix(name, "/"):
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755})
		default:
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(name))})
			tw.Write([]byte(name))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

func TestContextFromStdin(t *testing.T) {
	dir := t.TempDir()
	if err := contextFromStdin(dir, tarOf(t, "Dockerfile", "src/", "src/a.txt", "../up.txt", "/abs.txt", "ln>src")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Dockerfile", "src/a.txt", "up.txt", "abs.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "up.txt")); err == nil {
		t.Error("../up.txt landed outside the context")
	}

	// a link to outside, then a file through it: refused, nothing written there
	outside := t.TempDir()
	dir = t.TempDir()
	err := contextFromStdin(dir, tarOf(t, "esc>"+outside, "esc/evil.txt"))
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("write through a link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "evil.txt")); err == nil {
		t.Error("a file was written outside the context through a link")
	}

	// a gzip'd tar
	dir = t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(t, "Dockerfile", "z.txt").Bytes())
	zw.Close()
	if err := contextFromStdin(dir, &gz); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "z.txt")); err != nil {
		t.Errorf("gzip'd context: %v", err)
	}

	// not a tar: a Dockerfile alone
	dir = t.TempDir()
	if err := contextFromStdin(dir, strings.NewReader("FROM scratch\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); string(b) != "FROM scratch\n" {
		t.Errorf("Dockerfile from stdin: %q", b)
	}
}
