// Package testns empties and removes a containerd namespace that a test or
// a benchmark made: its tasks, containers, images and leases, then the
// snapshots and blobs nothing holds any more (a build's cache among them),
// then the namespace itself.
package testns

import (
	"context"
	"fmt"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

// Remove empties namespace ns and deletes it. A namespace that does not
// exist is not an error.
func Remove(ctx context.Context, c *containerd.Client, ns string) error {
	ctx = namespaces.WithNamespace(ctx, ns)
	cs, _ := c.Containers(ctx)
	for _, ct := range cs {
		if task, err := ct.Task(ctx, nil); err == nil {
			task.Kill(ctx, syscall.SIGKILL)
			if ch, err := task.Wait(ctx); err == nil {
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
				}
			}
			task.Delete(ctx, containerd.WithProcessKill)
		}
		ct.Delete(ctx, containerd.WithSnapshotCleanup)
	}
	is := c.ImageService()
	if imgs, err := is.List(ctx); err == nil {
		for _, img := range imgs {
			is.Delete(ctx, img.Name)
		}
	}
	ls := c.LeasesService()
	if all, err := ls.List(ctx); err == nil {
		for _, l := range all {
			ls.Delete(ctx, l)
		}
	}
	var err error
	for range 20 {
		sn := c.SnapshotService(defaults.DefaultSnapshotter)
		sn.Walk(ctx, func(ctx context.Context, info snapshots.Info) error {
			sn.Remove(ctx, info.Name) // a parent goes once its children have
			return nil
		})
		store := c.ContentStore()
		store.Walk(ctx, func(info content.Info) error {
			store.Delete(ctx, info.Digest)
			return nil
		})
		if err = c.NamespaceService().Delete(ctx, ns); err == nil || errdefs.IsNotFound(err) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("namespace %s left behind: %w", ns, err)
}
