//go:build !windows

package system

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type infoCmd struct {
	cli.Command
}

func (c *infoCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	return cli.Usagef("info is not written yet")
}
