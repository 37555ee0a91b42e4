//go:build !windows

package system

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type pruneCmd struct {
	cli.Command
}

func (c *pruneCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	return cli.Usagef("prune is not written yet")
}
