//go:build !windows

package run

import (
	"context"
	"fmt"

	"github.com/lepton-project/lepton/common/cli"
)

type diffCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

// run prints docker diff's lines: "A /path", "C /path" or "D /path" for
// each path the container added, changed or deleted, sorted by path.
func (d *diffCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("diff takes one container, not %q", rest)
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, d.Args.Container)
	if err != nil {
		return err
	}
	changes, err := cs.Diff(ctx, info.ID)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintln(a.env.Stdout, c)
	}
	return nil
}
