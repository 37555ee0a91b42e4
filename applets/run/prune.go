//go:build !windows

package run

import (
	"context"
	"fmt"
	"time"

	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
)

type pruneCmd struct {
	cli.Command
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only containers matching: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME"`
}

// run removes every container that is not running, then what killed
// lepton processes left: name claims with no container and no live
// creator, and container directories nobody owns.
func (p *pruneCmd) run(ctx context.Context, a *app, rest []string) error {
	pf, err := cli.ParsePruneFilter(p.Filters, time.Now(), "container prune")
	if err != nil {
		return err
	}
	if !p.Force && !cli.Confirm(a.env, "This will remove all stopped containers.") {
		return nil
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	removed, err := cs.Prune(ctx, func(info ctrs.Container) bool { return pf.Match(info.CreatedAt, info.Labels) })
	var reclaimed int64
	for _, p := range removed {
		reclaimed += p.Size
	}
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Containers:")
		for _, p := range removed {
			fmt.Fprintln(a.env.Stdout, p.ID)
		}
		fmt.Fprintln(a.env.Stdout)
	}
	fmt.Fprintf(a.env.Stdout, "Total reclaimed space: %s\n", bytesSI(uint64(reclaimed)))
	return err
}
