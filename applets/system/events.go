//go:build !windows

package system

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type eventsCmd struct {
	cli.Command
}

func (c *eventsCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	return cli.Usagef("events is not written yet")
}
