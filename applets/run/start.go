//go:build !windows

package run

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type startCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (s *startCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(s.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		ctr, err := cs.Client().LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		if _, _, err := cs.Start(ctx, ctr); err != nil {
			if errdefs.IsFailedPrecondition(err) {
				if st, serr := cs.Status(ctx, info.ID); serr == nil && st == containerd.Running {
					return ref, nil // docker: starting a running container is not an error
				}
			}
			return "", failedStart(ctx, cs, info, err)
		}
		return ref, nil
	})
}
