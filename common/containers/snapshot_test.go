//go:build !windows

package containers

import (
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/mount"
)

func TestReadOnlyMounts(t *testing.T) {
	in := []mount.Mount{
		{Type: "overlay", Source: "overlay", Options: []string{"index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs"}},
		{Type: "bind", Source: "/s/1/fs", Options: []string{"rbind", "rw"}},
	}
	got := ReadOnlyMounts(in)
	if want := []string{"index=off", "lowerdir=/s/2/fs:/s/1/fs"}; !slices.Equal(got[0].Options, want) {
		t.Errorf("overlay options = %q, want %q", got[0].Options, want)
	}
	if want := []string{"rbind", "ro"}; !slices.Equal(got[1].Options, want) {
		t.Errorf("bind options = %q, want %q", got[1].Options, want)
	}
	if in[0].Options[1] != "workdir=/s/2/work" || in[1].Options[1] != "rw" {
		t.Errorf("ReadOnlyMounts changed its input: %q", in)
	}
}
