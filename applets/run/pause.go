//go:build !windows

package run

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type pauseCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (p *pauseCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(p.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		c := cs.Client()
		task, err := runningTask(ctx, c, info, ref)
		if err != nil {
			return "", err
		}
		return ref, task.Pause(ctx)
	})
}

type unpauseCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (u *unpauseCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(u.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		c := cs.Client()
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not paused", ref))
		}
		if st, err := task.Status(ctx); err != nil || st.Status != containerd.Paused {
			return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not paused", ref))
		}
		return ref, task.Resume(ctx)
	})
}

// runningTask is the task of a running container, or a clear error.
func runningTask(ctx context.Context, c *containerd.Client, info ctrs.Container, ref string) (containerd.Task, error) {
	ctr, err := c.LoadContainer(ctx, info.ID)
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
