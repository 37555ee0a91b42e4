//go:build !windows

package run

import (
	"context"
	"strings"

	"github.com/lepton-project/lepton/common/cli"
)

type renameCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container to rename"`
		NewName   string `positional-arg-name:"<NEW_NAME>" required:"yes" description:"Its new name"`
	} `positional-args:"yes"`
}

func (r *renameCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := validName(r.Args.NewName); err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, r.Args.Container)
	if err != nil {
		return err
	}
	return cs.Rename(ctx, info, strings.TrimPrefix(r.Args.NewName, "/"))
}
