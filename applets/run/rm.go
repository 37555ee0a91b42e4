//go:build !windows

package run

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	lcontainers "github.com/lepton-project/lepton/common/containers"
)

type rmCmd struct {
	cli.Command
	Force   bool       `short:"f" long:"force" description:"Kill running containers first"`
	Volumes bool       `short:"v" long:"volumes" description:"Also remove the container's anonymous volumes"`
	Args    targetArgs `positional-args:"yes"`
}

func (r *rmCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(r.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		if !r.Force {
			if running, err := isRunning(ctx, c, info.ID); err != nil {
				return "", err
			} else if running {
				return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is running: stop it first, or use rm -f", cli.Quote(ref)))
			}
		}
		if err := a.remove(ctx, c, info.ID, r.Volumes); err != nil {
			return "", err
		}
		return ref, nil
	})
}

func isRunning(ctx context.Context, c *containerd.Client, id string) (bool, error) {
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return false, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := task.Status(ctx)
	if err != nil {
		return false, err
	}
	return st.Status != containerd.Stopped, nil
}

// remove kills and deletes a container with everything lepton kept for it
// (see containers.Remove). Removing a container that is already gone, or
// that another rm is removing, succeeds.
func (a *app) remove(ctx context.Context, c *containerd.Client, id string, anonVolumes bool) error {
	d, err := a.deps(ctx, c)
	if err != nil {
		return err
	}
	return lcontainers.Remove(ctx, d, id, lcontainers.RemoveOptions{Kill: true, AnonVolumes: anonVolumes})
}
