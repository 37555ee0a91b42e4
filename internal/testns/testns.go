// Package testns empties and removes a containerd namespace that a test or
// a benchmark made: its tasks, containers, images and leases, then the
// snapshots and blobs nothing holds any more (a build's cache among them),
// then the namespace itself.
package testns

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/runtime/restart"
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
	// containerd's restart monitor would start a killed task again (and
	// leave a created one behind when its container goes): take each
	// container out of its hands first.
	restarting := false
	for _, ct := range cs {
		if labels, err := ct.Labels(ctx); err == nil && labels[restart.PolicyLabel] != "" {
			restarting = true
			ct.SetLabels(ctx, map[string]string{restart.PolicyLabel: "", restart.StatusLabel: "", restart.LogURILabel: ""})
		}
	}
	if restarting {
		// A round of the monitor (every second in the tests' containerd)
		// may have read the labels already: let it pass.
		time.Sleep(1500 * time.Millisecond)
	}
	for range 3 {
		cs, _ = c.Containers(ctx)
		if len(cs) == 0 {
			break
		}
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
	// A chain of snapshots goes one generation a pass, and a daemon that
	// just stopped (buildkitd) may still hold mounts for a moment: try for
	// ten seconds, not a fixed count of passes.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
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
			RemoveCgroups(ns)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("namespace %s left behind: %w", ns, err)
}

// RemoveCgroups removes the cgroups runc made for the namespace's
// containers (/sys/fs/cgroup/[CONTROLLER/]NS/ID), which outlive them; each
// is empty by now, and rmdir leaves alone any that is not.
func RemoveCgroups(ns string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + ns)
	if _, err := os.Stat("/sys/fs/cgroup/" + ns + "/cgroup.procs"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/"+ns)
	}
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			os.Remove(dirs[i])
		}
	}
}
