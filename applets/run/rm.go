//go:build !windows

package run

import (
	"context"
	"fmt"

	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type rmCmd struct {
	cli.Command
	Force   bool       `short:"f" long:"force" description:"Kill running containers first"`
	Volumes bool       `short:"v" long:"volumes" description:"Also remove the container's anonymous volumes"`
	Args    targetArgs `positional-args:"yes"`
}

func (r *rmCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(r.Args.Containers, rest...), parallelTargets, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		if !r.Force {
			if running, err := cs.Running(ctx, info.ID); err != nil {
				return "", err
			} else if running {
				return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is running: stop it first, or use rm -f", cli.Quote(ref)))
			}
		}
		return ref, cs.Remove(ctx, info.ID, containers.RemoveOptions{Kill: true, AnonVolumes: r.Volumes})
	})
}
