//go:build !windows

package run

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
)

type startCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (s *startCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(s.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		if task, err := ctr.Task(ctx, nil); err == nil {
			if st, err := task.Status(ctx); err == nil && st.Status == containerd.Running {
				return ref, nil // docker: starting a running container is not an error
			}
		}
		if _, _, err := a.startTask(ctx, c, ctr, configOf(info)); err != nil {
			return "", a.failedStart(ctx, c, info.ID, err)
		}
		return ref, nil
	})
}
