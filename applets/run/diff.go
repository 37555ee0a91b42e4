//go:build !windows

package run

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type diffCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

func (c *diffCmd) run(ctx context.Context, a *app, rest []string) error {
	return cli.Usagef("diff is not written yet")
}
