package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func TestCheckEntry(t *testing.T) {
	for _, tt := range []struct {
		hdr  tar.Header
		want bool // refused
	}{
		{tar.Header{Name: "blobs/sha256/ab", Typeflag: tar.TypeReg}, false},
		{tar.Header{Name: "./index.json", Typeflag: tar.TypeReg}, false},
		{tar.Header{Name: "a/../b", Typeflag: tar.TypeReg}, false},
		{tar.Header{Name: "../x", Typeflag: tar.TypeReg}, true},
		{tar.Header{Name: "a/../../x", Typeflag: tar.TypeReg}, true},
		{tar.Header{Name: "/etc/x", Typeflag: tar.TypeReg}, true},
		{tar.Header{Name: "..", Typeflag: tar.TypeDir}, true},
		{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "blobs/sha256/ab"}, false},
		{tar.Header{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "../blobs/sha256/ab"}, false},
		{tar.Header{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"}, true},
		{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, true},
		{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}, true},
	} {
		err := checkEntry(&tt.hdr)
		if got := err != nil; got != tt.want {
			t.Errorf("checkEntry(%q -> %q) = %v, want refused %v", tt.hdr.Name, tt.hdr.Linkname, err, tt.want)
		}
	}
}

func TestGuardCopy(t *testing.T) {
	good := []byte("good blob")
	gd := digest.FromBytes(good)
	wrong := digest.FromString("something else")
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"oci-layout", []byte("{}")},
		{"blobs/sha256/" + gd.Encoded(), good},
		{"blobs/sha256/" + wrong.Encoded(), good},
		{wrong.Encoded() + ".json", good},
		{"blobs/sha256/not-hex", good},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
		tw.Write(f.body)
	}
	tw.Close()
	g := &archiveGuard{corrupt: map[digest.Digest]bool{}}
	var out bytes.Buffer
	if err := g.copy(&out, bytes.NewReader(in.Bytes())); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if g.corrupt[gd] {
		t.Errorf("the good blob is taken for corrupt")
	}
	if !g.corrupt[wrong] || len(g.corrupt) != 1 {
		t.Errorf("corrupt = %v, want only %s", g.corrupt, wrong)
	}
	// What the importer reads is the same archive, entry for entry.
	tr := tar.NewReader(&out)
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		b, _ := io.ReadAll(tr)
		if hdr.Name != "oci-layout" && !bytes.Equal(b, good) {
			t.Errorf("%s: body %q, want %q", hdr.Name, b, good)
		}
		n++
	}
	if n != 5 {
		t.Errorf("re-read %d entries, want 5", n)
	}
}

func TestGuardRefuses(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	tw.WriteHeader(&tar.Header{Name: "oci-layout", Typeflag: tar.TypeReg, Size: 2})
	tw.Write([]byte("{}"))
	tw.WriteHeader(&tar.Header{Name: "../../x", Typeflag: tar.TypeReg, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	g := &archiveGuard{corrupt: map[digest.Digest]bool{}}
	var out bytes.Buffer
	err := g.copy(&out, &in)
	var refused *refusedEntry
	if !errors.As(err, &refused) || refused.name != "../../x" {
		t.Fatalf("copy = %v, want the entry ../../x refused", err)
	}
	if bytes.Contains(out.Bytes(), []byte("../../x")) {
		t.Errorf("the refused entry's header reached the importer")
	}
}
