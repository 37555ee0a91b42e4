//go:build !windows

package run

import (
	"context"
	"encoding/json"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
)

type renameCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container to rename"`
		NewName   string `positional-arg-name:"<NEW_NAME>" required:"yes" description:"Its new name"`
	} `positional-args:"yes"`
}

// run claims the new name first, then moves the container to it, then
// drops the old claim: a rename killed part-way leaves the container under
// one of its names, never under none.
func (r *renameCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", rest[0])
	}
	if err := validName(r.Args.NewName); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := a.resolve(ctx, c, r.Args.Container)
	if err != nil {
		return err
	}
	names, err := a.names(ctx)
	if err != nil {
		return err
	}
	newName := r.Args.NewName
	if len(newName) > 0 && newName[0] == '/' {
		newName = newName[1:]
	}
	oldName := info.Labels[labelName]
	if newName == oldName {
		return nil
	}
	if err := names.Take(ctx, c, newName, info.ID); err != nil {
		return err
	}
	cfg := configOf(info)
	cfg.Name = newName
	ctr, err := c.LoadContainer(ctx, info.ID)
	if err == nil {
		err = ctr.Update(ctx, func(_ context.Context, _ *containerd.Client, cc *containers.Container) error {
			b, err := json.Marshal(cfg)
			if err != nil {
				return err
			}
			if cc.Labels == nil {
				cc.Labels = map[string]string{}
			}
			cc.Labels[labelName] = newName
			if cc.Extensions == nil {
				cc.Extensions = map[string]typeurlAny{}
			}
			cc.Extensions[extConfig] = &rawAny{url: configTypeURL, value: b}
			return nil
		})
	}
	if err != nil {
		names.Release(context.WithoutCancel(ctx), newName, info.ID)
		return err
	}
	names.Done(ctx, newName, info.ID)
	if oldName != "" {
		return names.Release(ctx, oldName, info.ID)
	}
	return nil
}
