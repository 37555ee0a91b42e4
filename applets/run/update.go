//go:build !windows

package run

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type updateCmd struct {
	cli.Command
	Args struct {
		Containers []string `positional-arg-name:"<CONTAINER>" required:"1" description:"Containers to update"`
	} `positional-args:"yes"`
}

func (c *updateCmd) run(ctx context.Context, a *app, rest []string) error {
	return cli.Usagef("update is not written yet")
}
