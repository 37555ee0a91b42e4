//go:build !windows

package containers

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{16, 17}},
		{"ctrl-p,ctrl-q", []byte{16, 17}},
		{"ctrl-A,x", []byte{1, 'x'}},
		{"ctrl-@,ctrl-[,ctrl-_", []byte{0, 27, 31}},
	} {
		got, err := ParseDetachKeys(tc.in)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("ParseDetachKeys(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ctrl-1", "xy", "ctrl-p,,ctrl-q"} {
		if _, err := ParseDetachKeys(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("ParseDetachKeys(%q) error = %v, want an invalid argument", bad, err)
		}
	}
}

func TestDetachReader(t *testing.T) {
	detached := make(chan struct{})
	// A partial match that fails is passed on whole.
	r := NewDetachReader(strings.NewReader("a\x10b\x10\x11rest"), []byte{16, 17}, detached)
	var got []byte
	buf := make([]byte, 64)
	for {
		n, _ := r.Read(buf)
		got = append(got, buf[:n]...)
		select {
		case <-detached:
			if want := "a\x10b"; string(got) != want {
				t.Errorf("read %q before detaching, want %q", got, want)
			}
			return
		default:
		}
		if n == 0 {
			t.Fatalf("input ended without detaching; read %q", got)
		}
	}
}

func TestEOFHook(t *testing.T) {
	calls := 0
	h := &eofHook{r: strings.NewReader("x"), fn: func() { calls++ }}
	io.ReadAll(h)
	h.Read(make([]byte, 1))
	if calls != 1 {
		t.Errorf("fn called %d times, want once", calls)
	}
}

func TestReplaceEnv(t *testing.T) {
	env := []string{"PATH=/bin", "HOME=/root"}
	got := ReplaceEnv(env, []string{"HOME=/home/u", "NEW=1", "BARE"})
	want := []string{"PATH=/bin", "HOME=/home/u", "NEW=1", "BARE"}
	if !slices.Equal(got, want) {
		t.Errorf("ReplaceEnv = %q, want %q", got, want)
	}
	if env[1] != "HOME=/root" {
		t.Errorf("ReplaceEnv changed its input: %q", env)
	}
}
