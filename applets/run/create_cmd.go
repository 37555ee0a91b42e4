//go:build !windows

package run

import (
	"context"
	"fmt"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
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
	cid, err := newCIDFile(cc.CIDFile)
	if err != nil {
		return err
	}
	defer cid.abandon()
	cs, err := a.open(ctx, cc.quiet()...)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	ctr, err := cs.Create(ctx, p)
	if err != nil {
		return err
	}
	if err := cid.write(ctr.ID()); err != nil {
		cs.Remove(context.WithoutCancel(ctx), ctr.ID(), containers.RemoveOptions{Kill: true, AnonVolumes: true})
		return err
	}
	fmt.Fprintln(a.env.Stdout, ctr.ID())
	return nil
}
