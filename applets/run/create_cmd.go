//go:build !windows

package run

import (
	"context"
	"fmt"

	"github.com/lepton-project/lepton/common/cli"
)

type createCmd struct {
	cli.Command
	createFlags
}

func (cc *createCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) == 0 {
		return cli.Usagef("create needs an image: lepton container create [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	p, err := parsePlan(a.env, &cc.createFlags, rest[0], rest[1:])
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctr, err := a.createContainer(ctx, c, p)
	if err != nil {
		return err
	}
	if err := writeCIDFile(cc.CIDFile, ctr.ID()); err != nil {
		a.remove(context.WithoutCancel(ctx), c, ctr.ID(), true)
		return err
	}
	if names, err := a.names(ctx); err == nil {
		names.Done(ctx, p.cfg.Name, ctr.ID())
	}
	fmt.Fprintln(a.env.Stdout, ctr.ID())
	return nil
}
