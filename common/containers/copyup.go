//go:build !windows

package containers

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/continuity/fs"
	"github.com/opencontainers/image-spec/identity"

	containerd "github.com/containerd/containerd/v2/client"
)

// imageVolumes adds an anonymous volume for each VOLUME of the image that
// no mount of the plan covers, as docker does.
func imageVolumes(p *Plan, ic imageConfig) {
	taken := map[string]bool{}
	for _, m := range p.Mounts {
		taken[m.Target] = true
	}
	targets := make([]string, 0, len(ic.Volumes))
	for t := range ic.Volumes {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, target := range targets {
		if !taken[target] {
			p.Mounts = append(p.Mounts, Mount{Type: "volume", Target: target})
		}
	}
}

// copyUp fills each empty volume the plan mounts with what the image has
// at its target (docker's copy of image content into a new volume), unless
// the mount says nocopy. The image is seen through a read-only view
// snapshot under Create's lease, mounted where a killed lepton's mount has
// an owner (see NewMountpoint).
func (d *Containers) copyUp(ctx context.Context, img containerd.Image, p *Plan, volumeMounts map[string]string) error {
	var todo []Mount
	for _, m := range p.Mounts {
		if m.Type == "volume" && !m.NoCopy && emptyDir(volumeMounts[m.Source]) {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return err
	}
	sn := d.client.SnapshotService(defaults.DefaultSnapshotter)
	key := "lepton-copyup-" + NewID()
	mounts, err := sn.View(ctx, key, identity.ChainID(diffIDs).String())
	if err != nil {
		return fmt.Errorf("view image %s to fill its volumes: %w", p.Image, err)
	}
	defer sn.Remove(context.WithoutCancel(ctx), key)
	root, err := NewMountpoint(d.dataRoot, d.namespace)
	if err != nil {
		return err
	}
	defer os.Remove(root)
	if err := mount.All(mounts, root); err != nil {
		return fmt.Errorf("mount image %s to fill its volumes: %w", p.Image, err)
	}
	defer mount.UnmountAll(root, 0)
	for _, m := range todo {
		src, err := fs.RootPath(root, m.Target)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
			continue // nothing there in the image: the volume starts empty
		}
		if err := fs.CopyDir(volumeMounts[m.Source], src); err != nil {
			return fmt.Errorf("fill volume %s from the image's %s: %w", m.Source, m.Target, err)
		}
	}
	return nil
}

func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}
