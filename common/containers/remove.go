//go:build !windows

package containers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/volumes"
)

// RemoveOptions say how far Remove may go.
type RemoveOptions struct {
	// Kill stops a running task with SIGKILL first; without it a container
	// whose task is not stopped fails with ErrFailedPrecondition.
	Kill bool
	// AnonVolumes removes the anonymous volumes the container mounts (always
	// done for run --rm containers).
	AnonVolumes bool
}

// Remove deletes container id with everything lepton kept for it: task,
// snapshot, network endpoints, directory, name claim and, if asked, its
// anonymous volumes. A container already gone, or going (another remover
// got there first), is success.
func (d *Containers) Remove(ctx context.Context, id string, o RemoveOptions) error {
	if !o.Kill {
		return remove(ctx, d, id, o)
	}
	// A remover that loses the race (two rm -f at once, rm -f beside
	// run --rm) sees the winner's work as its task or shim vanishing under
	// it, while the container lingers for the few milliseconds the winner
	// needs to delete it. Such errors are tried again, briefly: by then the
	// container is gone, or its task is, and this remover can finish.
	for delay := 20 * time.Millisecond; ; delay *= 2 {
		err := remove(ctx, d, id, o)
		if err == nil || !vanishing(err) || delay > time.Second {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// vanishing says whether err is what another process removing the same
// container looks like from here: its task or shim gone mid-call, or its
// task still there because that deletion is under way ("cannot delete
// running task"). containerd passes some of these on as bare text from the
// shim, hence the strings.
func vanishing(err error) bool {
	if errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"ttrpc: closed", "not found", "no such process"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func remove(ctx context.Context, d *Containers, id string, o RemoveOptions) error {
	c := d.client
	ctr, err := c.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := ctr.Info(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Kill && info.Labels[restart.PolicyLabel] != "" {
		// Keep containerd's restart monitor from bringing it back while
		// it goes, even if its task is between two runs now.
		ctr.SetLabels(ctx, map[string]string{restart.StatusLabel: "stopped"})
	}
	if err := deleteTask(ctx, ctr, info, o.Kill); err != nil {
		if gone(ctx, c, id) {
			return nil
		}
		return err
	}
	crash.Point("rm-task-deleted")
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		if gone(ctx, c, id) {
			return nil
		}
		return fmt.Errorf("delete container: %w", err)
	}
	crash.Point("rm-container-deleted")
	forget(ctx, d, info, o.AnonVolumes)
	if name := info.Labels[LabelName]; name != "" && d.names != nil {
		d.names.Release(context.WithoutCancel(ctx), name, id)
	}
	return nil
}

// gone says whether container id no longer exists: a remover racing
// another sees its task or container vanish under it.
func gone(ctx context.Context, c *containerd.Client, id string) bool {
	_, err := c.ContainerService().Get(context.WithoutCancel(ctx), id)
	return errdefs.IsNotFound(err)
}

// deleteTask deletes the container's task, killing it first if kill is
// set, and fails with ErrFailedPrecondition if it runs and kill is not.
func deleteTask(ctx context.Context, ctr containerd.Container, info containers.Container, kill bool) error {
	task, st, err := taskStatus(ctx, ctr)
	if err != nil || task == nil {
		return err
	}
	if st != containerd.Stopped && st != containerd.Created {
		if !kill {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is %s", NameOf(info), st))
		}
		if ch, err := task.Wait(ctx); err == nil {
			task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll)
			select {
			case <-ch:
			case <-time.After(30 * time.Second):
			}
		}
	}
	// A created task's process never ran the user's command: deleting it
	// with WithProcessKill ends runc's init, nothing of the user's.
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task: %w", err)
	}
	return nil
}

// taskStatus returns ctr's task and its status; a nil task, with no
// error, when it has none (or it vanished while being asked).
func taskStatus(ctx context.Context, ctr containerd.Container) (containerd.Task, containerd.ProcessStatus, error) {
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return task, st.Status, nil
}

// forget drops what lepton kept of a container containerd no longer has,
// but its name claim, which the caller releases (it may hold its lock).
func forget(ctx context.Context, d *Containers, info containers.Container, anonVolumes bool) {
	ctx = context.WithoutCancel(ctx)
	id := info.ID
	if info.Labels[LabelNetwork] != "" && d.nets != nil {
		// The poststop hook or the stopping lepton normally left already;
		// this catches a task whose leaving never ran (a killed lepton).
		d.nets.Detach(ctx, id)
	}
	os.RemoveAll(d.Dir(id))
	if (anonVolumes || info.Labels[LabelAutoRemove] == "true") && d.vols != nil {
		users := volumes.ContainerUsers(d.client)
		for k := range info.Labels {
			if vname, ok := strings.CutPrefix(k, volumes.UsedByLabel); ok {
				if v, err := d.vols.Get(ctx, vname); err == nil && v.Anonymous {
					d.vols.Remove(ctx, vname, users)
				}
			}
		}
	}
}

// RemoveIfStopped removes container id only if, under its name's lock,
// no lepton is at work on it and its task is stopped or absent and no
// restart policy is about to bring it back. It never kills anything. It
// reports false, with no error, for a container it left alone.
func (d *Containers) RemoveIfStopped(ctx context.Context, id string, anonVolumes bool) (removed bool, err error) {
	c := d.client
	info, err := c.ContainerService().Get(ctx, id)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	decide := func(r *store.Record) error {
		// Read again under the lock: a start may have run since the list.
		info, err := c.ContainerService().Get(ctx, id)
		if errdefs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Labels[restart.StatusLabel] == "running" {
			return nil // the restart monitor keeps it
		}
		ctr, err := c.LoadContainer(ctx, id)
		if err != nil {
			return err
		}
		if err := deleteTask(ctx, ctr, info, false); err != nil {
			if errdefs.IsFailedPrecondition(err) {
				return nil // it runs now
			}
			return err
		}
		if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete container: %w", err)
		}
		removed = true
		forget(ctx, d, info, anonVolumes)
		if r != nil {
			if b, err := r.Data(); err == nil {
				if cl, ok := decode(b); !ok || cl.ID == id {
					return r.Remove()
				}
			}
		}
		return nil
	}
	name := info.Labels[LabelName]
	if name == "" || store.ValidateKey(name) != nil {
		return removed, decide(nil)
	}
	err = d.names.Idle(ctx, name, id, decide)
	if errdefs.IsFailedPrecondition(err) {
		return false, nil // a lepton is creating or starting it
	}
	return removed, err
}
