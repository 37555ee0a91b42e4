//go:build !windows

package run

import (
	"context"

	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type pauseCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (p *pauseCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(p.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		return ref, cs.Pause(ctx, info, ref)
	})
}

type unpauseCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

func (u *unpauseCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(u.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		return ref, cs.Unpause(ctx, info, ref)
	})
}
