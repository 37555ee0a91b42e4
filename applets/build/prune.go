//go:build !windows

package build

import (
	"context"
	"fmt"
	"time"

	units "github.com/docker/go-units"

	builder "github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
)

type pruneCmd struct {
	cli.Command
	All         bool     `short:"a" long:"all" description:"Remove all build cache, not only what nothing uses"`
	Force       bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters     []string `long:"filter" value-name:"<until=DURATION>" description:"Only cache not used for this long (until=24h)"`
	KeepStorage string   `long:"keep-storage" value-name:"<SIZE>" description:"Keep this much of the most recently used cache (512MB)"`
}

// run removes build cache from the namespace's buildkitd.
func (p *pruneCmd) run(ctx context.Context, a *app) error {
	f, err := cli.ParseFilters(p.Filters, "until")
	if err != nil {
		return err
	}
	var o builder.PruneOptions
	o.All = p.All
	for _, v := range f["until"] {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return cli.Usagef("--filter until=%s: want a duration such as 24h", v)
		}
		o.KeepFor = d
	}
	if p.KeepStorage != "" {
		n, err := units.RAMInBytes(p.KeepStorage)
		if err != nil || n < 0 {
			return cli.Usagef("--keep-storage %s: want a size such as 512MB", p.KeepStorage)
		}
		o.KeepSize = n
	}
	if !p.Force {
		what := "all dangling build cache"
		if p.All {
			what = "all build cache"
		}
		if !cli.Confirm(a.env, "This will remove "+what+".") {
			return nil
		}
	}
	bld, done, err := a.builder(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := bld.Prune(ctx, o)
	if err != nil {
		return fmt.Errorf("prune build cache: %w", err)
	}
	fmt.Fprintf(a.env.Stdout, "Deleted build cache objects: %d\nTotal reclaimed space: %s\n", res.Records, cli.HumanSize(res.Bytes))
	return nil
}
