//go:build !windows

package containers

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/crash"
)

// MountSnapshot mounts container info's file system (its snapshot: the
// image and its writable layer, without volumes or the files lepton binds
// in) on a new mountpoint under MountsRoot, and returns it with the
// function that unmounts and removes it. Read-only, the writable layer is
// mounted as one more lower layer (see ReadOnlyMounts), so a running
// container's own mount of it is left alone. A lepton killed while the
// snapshot is mounted leaves a mountpoint named for it, which Check finds.
func (d *Containers) MountSnapshot(ctx context.Context, info containers.Container, readOnly bool) (string, func(), error) {
	if info.SnapshotKey == "" {
		return "", nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has no file system of its own (no snapshot)", info.ID))
	}
	mounts, err := d.client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return "", nil, fmt.Errorf("mount the container's file system: %w", err)
	}
	if readOnly {
		mounts = ReadOnlyMounts(mounts)
	}
	dir, release, err := d.mountAt(mounts)
	if err != nil {
		return "", nil, fmt.Errorf("mount the container's file system: %w", err)
	}
	crash.Point("cp-mounted")
	return dir, release, nil
}

// mountAt mounts mounts on a new mountpoint under MountsRoot.
func (d *Containers) mountAt(mounts []mount.Mount) (string, func(), error) {
	dir, err := NewMountpoint(d.dataRoot, d.namespace)
	if err != nil {
		return "", nil, err
	}
	if err := mount.All(mounts, dir); err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, func() {
		mount.UnmountAll(dir, 0)
		os.Remove(dir)
	}, nil
}

// ReadOnlyMounts is mounts made read-only, as containerd's own
// WithReadonlyTempMount makes them: an overlay loses its work directory
// and its upper directory becomes its top lower one; any other mount gets
// "ro". mounts itself is left as it was.
func ReadOnlyMounts(mounts []mount.Mount) []mount.Mount {
	out := make([]mount.Mount, len(mounts))
	for i, m := range mounts {
		m.Options = slices.Clone(m.Options)
		if m.Type != "overlay" {
			m.Options = append(slices.DeleteFunc(m.Options, func(o string) bool { return o == "rw" || o == "ro" }), "ro")
			out[i] = m
			continue
		}
		upper := ""
		m.Options = slices.DeleteFunc(m.Options, func(o string) bool {
			if u, ok := strings.CutPrefix(o, "upperdir="); ok {
				upper = u
				return true
			}
			return strings.HasPrefix(o, "workdir=")
		})
		for j, o := range m.Options {
			if lower, ok := strings.CutPrefix(o, "lowerdir="); ok && upper != "" {
				m.Options[j] = "lowerdir=" + upper + ":" + lower
			}
		}
		out[i] = m
	}
	return out
}
