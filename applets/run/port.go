//go:build !windows

package run

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
)

type portCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
		Port      string `positional-arg-name:"<PRIVATE_PORT>" description:"Only this port[/proto]"`
	} `positional-args:"yes"`
}

// run lists published ports. lepton publishes none yet (containers run
// with --network none or host), so there is nothing to list; asking for a
// port says so instead of printing nothing.
func (p *portCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", rest[0])
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := a.resolve(ctx, c, p.Args.Container); err != nil {
		return err
	}
	if p.Args.Port != "" {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no public port %s published for %s (publishing ports arrives with bridge networking)", p.Args.Port, p.Args.Container))
	}
	return nil
}
