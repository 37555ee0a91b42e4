//go:build !windows

package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
)

// Pruned is one container Prune removed, with the bytes its directory
// (its log, mostly) held.
type Pruned struct {
	ID   string
	Size int64
}

// Prune removes every container that is not running and that match (nil:
// all) selects, then sweeps what killed commands left (stale name claims
// with their snapshots and directories, unfinished work of dead leptons).
// The list it starts from is old by the time it acts: each removal is
// decided again under the name lock a run or start holds while it works
// (RemoveIfStopped), and nothing is ever killed. The error joins each
// container's failure; the removals that worked are reported all the same.
func (d *Containers) Prune(ctx context.Context, match func(info containers.Container) bool) ([]Pruned, error) {
	all, err := d.client.ContainerService().List(ctx)
	if err != nil {
		return nil, err
	}
	states, err := TaskStatuses(ctx, d.client)
	if err != nil {
		return nil, err
	}
	var removed []Pruned
	var errs []error
	for _, info := range all {
		if Alive(states[info.ID]) || IsBuildStep(info) || match != nil && !match(info) {
			continue
		}
		size := dirSize(d.Dir(info.ID))
		ok, err := d.RemoveIfStopped(ctx, info.ID, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", short(info.ID), err))
			continue
		}
		if ok {
			removed = append(removed, Pruned{ID: info.ID, Size: size})
		}
	}
	// Orphan tasks, snapshots and mounts are system check's.
	d.Sweep(ctx)
	return removed, errors.Join(errs...)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TaskStatuses is the status of every task of the namespace, by container
// ID, from one call: what listing commands need of each container's state.
func TaskStatuses(ctx context.Context, c *containerd.Client) (map[string]tasktypes.Status, error) {
	resp, err := c.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]tasktypes.Status, len(resp.Tasks))
	for _, t := range resp.Tasks {
		out[t.ID] = t.Status
	}
	return out, nil
}

// Alive says whether a task of that status has processes: running or
// paused (or on its way to paused).
func Alive(st tasktypes.Status) bool {
	return st == tasktypes.Status_RUNNING || st == tasktypes.Status_PAUSED || st == tasktypes.Status_PAUSING
}
