package image

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/containerd/containerd/v2/core/images"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
)

type pruneCmd struct {
	cli.Command
	All     bool     `short:"a" long:"all" description:"Remove every image no container uses, not only dangling ones"`
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only images matching: label=KEY[=VALUE], until=TIME"`
}

// run removes images no container uses: dangling ones (known only by
// digest) by default, all of them with -a. It first deletes the leases of
// lepton commands that were killed (see leases.StaleLeases), which would
// otherwise keep what they fetched from the garbage collector for a day;
// without -a it keeps those of killed pulls, which let the next pull of
// their image resume.
func (p *pruneCmd) run(ctx context.Context, a *app) error {
	f, err := cli.ParseFilters(p.Filters, "label", "until")
	if err != nil {
		return err
	}
	var until []time.Time
	for _, v := range f["until"] {
		t, err := pruneUntil(v, time.Now())
		if err != nil {
			return err
		}
		until = append(until, t)
	}
	if !p.Force {
		what := "all dangling images"
		if p.All {
			what = "all images without at least one container associated to them"
		}
		if !cli.Confirm(a.env, "This will remove "+what+".") {
			return nil
		}
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	users, err := containers.ImageUsers(ctx, c)
	if err != nil {
		return err
	}
	s, err := a.g.Store(ctx)
	if err != nil {
		return err
	}
	res, err := registry.PruneImages(ctx, c, s, a.g.Namespace, registry.PruneOptions{
		All:   p.All,
		Users: users,
		Match: func(img images.Image) bool {
			return (len(until) == 0 || slices.ContainsFunc(until, img.CreatedAt.Before)) &&
				f.MatchAll("label", func(l string) bool { return cli.MatchLabel(img.Labels, l) })
		},
	})
	if err != nil {
		fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
	}
	removed, freed := res.Names, res.Leases
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Images:")
		for _, n := range removed {
			fmt.Fprintf(a.env.Stdout, "untagged: %s\n", n)
		}
		fmt.Fprintln(a.env.Stdout)
	}
	if freed > 0 {
		fmt.Fprintf(a.env.Stdout, "Deleted leases of killed lepton commands: %d\n", freed)
	}
	fmt.Fprintf(a.env.Stdout, "Total images removed: %d\n", len(removed))
	return nil
}

// pruneUntil reads an until= filter as every lepton command reads a
// time: a duration back from now (24h), RFC 3339 or Unix seconds.
func pruneUntil(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, cli.Usagef("bad filter \"until=\": give a time")
	}
	return cli.ParseTime(v, now)
}
