//go:build !windows

package system

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type dfCmd struct {
	cli.Command
}

func (c *dfCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	return cli.Usagef("df is not written yet")
}
