//go:build !windows

package run

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

type commitCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
		Ref       string `positional-arg-name:"<REPOSITORY[:TAG]>" description:"Name of the new image"`
	} `positional-args:"yes"`
}

func (c *commitCmd) run(ctx context.Context, a *app, rest []string) error {
	return cli.Usagef("commit is not written yet")
}
