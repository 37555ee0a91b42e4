//go:build !windows

package containers

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
)

// RunningTask is the task of the running container info (ref is how the
// caller named it, for errors). A container without a task, or whose task
// is paused or stopping, is an errdefs.ErrFailedPrecondition saying so.
func (d *Containers) RunningTask(ctx context.Context, info ctrs.Container, ref string) (containerd.Task, error) {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", ref))
	}
	if err != nil {
		return nil, err
	}
	st, err := task.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.Status != containerd.Running {
		return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is %s, not running", ref, st.Status))
	}
	return task, nil
}

// Pause freezes the running container info's processes, as docker pause
// does; one not running is an errdefs.ErrFailedPrecondition.
func (d *Containers) Pause(ctx context.Context, info ctrs.Container, ref string) error {
	if parent, ok := rootlessCgroups(); ok && parent == "" {
		return errNoCgroups("pause (cgroups' freezer)")
	}
	task, err := d.RunningTask(ctx, info, ref)
	if err != nil {
		return err
	}
	return task.Pause(ctx)
}

// Unpause thaws the paused container info; one not paused is an
// errdefs.ErrFailedPrecondition.
func (d *Containers) Unpause(ctx context.Context, info ctrs.Container, ref string) error {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	notPaused := errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not paused", ref))
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return notPaused
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Paused {
		return notPaused
	}
	return task.Resume(ctx)
}
