//go:build !windows

package main

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// anyContainer says whether one of inspect's targets is a container. When
// it cannot tell (no containerd, bad options) it says yes, so that
// container inspect reports the trouble.
func anyContainer(ctx context.Context, env *cli.Env, globals, args []string) bool {
	var g cli.Globals
	if _, err := flags.NewParser(&g, flags.None).ParseArgs(globals); err != nil {
		return true
	}
	g.Resolve(env)
	targets := inspectTargets(args)
	if len(targets) == 0 {
		return true // container inspect's usage error
	}
	for _, t := range targets {
		if t == "-" {
			return true
		}
	}
	cs, err := g.Containers(ctx)
	if err != nil {
		return true
	}
	defer cs.Client().Close()
	for _, t := range targets {
		if _, err := cs.Resolve(ctx, t); !errdefs.IsNotFound(err) {
			return true
		}
	}
	return false
}
