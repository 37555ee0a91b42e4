//go:build !windows

package main

import (
	"context"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

// lookupKinds says, for each target, the first kind of inspectKinds that
// has an object of that name or ID ("" for none). reachable is false when
// containerd could not be asked, so containers and images were not
// looked for.
func lookupKinds(ctx context.Context, env *cli.Env, globals, targets []string) (kinds []string, reachable bool) {
	kinds = make([]string, len(targets))
	var g cli.Globals
	if _, err := flags.NewParser(&g, flags.None).ParseArgs(globals); err != nil {
		return kinds, false
	}
	g.Resolve(env)
	cs, err := g.Containers(ctx)
	if err != nil {
		return kinds, false
	}
	defer cs.Client().Close()
	for i, t := range targets {
		if _, err := cs.Resolve(ctx, t); err == nil {
			kinds[i] = "container"
		} else if _, err := registry.Find(ctx, cs.Client(), t); err == nil {
			kinds[i] = "image"
		} else if _, err := cs.Networks().Get(ctx, t); err == nil {
			kinds[i] = "network"
		} else if _, err := cs.Volumes().Get(ctx, t); err == nil {
			kinds[i] = "volume"
		}
	}
	return kinds, true
}
