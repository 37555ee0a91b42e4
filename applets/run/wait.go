//go:build !windows

package run

import (
	"context"
	"strconv"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
)

type waitCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

// run prints each container's exit code once it has stopped; a container
// that never ran has none to wait for, and is reported as an error.
func (w *waitCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(w.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		task, err := ctr.Task(ctx, nil)
		if errdefs.IsNotFound(err) {
			if info.Labels[labelStartedAt] == "" {
				return "", errdefs.ErrFailedPrecondition.WithMessage("container " + ref + " has not been started")
			}
			return "", errdefs.ErrNotFound.WithMessage("container " + ref + " has stopped and its exit code is gone")
		}
		if err != nil {
			return "", err
		}
		ch, err := task.Wait(ctx)
		if err != nil {
			return "", err
		}
		select {
		case st := <-ch:
			code, _, err := st.Result()
			return strconv.Itoa(int(code)), err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
}
