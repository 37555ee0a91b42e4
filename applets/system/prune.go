//go:build !windows

package system

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/images"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/volumes"
)

type pruneCmd struct {
	cli.Command
	All     bool     `short:"a" long:"all" description:"Remove every image no container uses and all build cache, not only dangling ones"`
	Volumes bool     `long:"volumes" description:"Remove anonymous volumes no container uses too"`
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only what matches: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]"`
}

// run removes, in this order so that each step frees what the next one
// looks at: stopped containers, networks no container is on, with
// --volumes anonymous volumes no container uses, dangling images (every
// unused one with -a), and build cache. Each step is the same library
// call as the kind's own prune, with its guarantees: every removal is
// decided again under the claim a starting command holds, so a `run`
// racing this loses nothing. A step that fails does not stop the next.
func (c *pruneCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	now := time.Now()
	pf, err := cli.ParsePruneFilter(c.Filters, now, "system prune")
	if err != nil {
		return err
	}
	if !c.Force {
		what := []string{"all stopped containers", "all networks not used by at least one container"}
		if c.Volumes {
			what = append(what, "all anonymous volumes not used by at least one container")
		}
		if c.All {
			what = append(what, "all images without at least one container associated to them", "all build cache")
		} else {
			what = append(what, "all dangling images", "unused build cache")
		}
		if !cli.Confirm(env, "This will remove:\n  - "+strings.Join(what, "\n  - ")+"\n") {
			return nil
		}
	}
	cs, err := g.Containers(ctx)
	if err != nil {
		return err
	}
	client := cs.Client()
	defer client.Close()
	var errs []error
	var reclaimed int64
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintln(env.Stdout, title)
		for _, l := range lines {
			fmt.Fprintln(env.Stdout, l)
		}
		fmt.Fprintln(env.Stdout)
	}

	pruned, err := cs.Prune(ctx, func(info ctrs.Container) bool { return pf.Match(info.CreatedAt, info.Labels) })
	errs = append(errs, err)
	var ids []string
	for _, p := range pruned {
		ids = append(ids, p.ID)
		reclaimed += p.Size
	}
	section("Deleted Containers:", ids)

	nets, err := cs.Networks().Prune(ctx, func(n *networks.Network) bool { return pf.Match(n.CreatedAt, n.Labels) })
	errs = append(errs, err)
	section("Deleted Networks:", nets)

	if c.Volumes {
		vp, err := cs.Volumes().Prune(ctx, volumes.ContainerUsers(client), volumes.PruneOptions{
			Match: func(v *volumes.Volume) bool { return pf.Match(v.CreatedAt, v.Labels) },
		})
		errs = append(errs, err)
		reclaimed += vp.Bytes
		section("Deleted Volumes:", vp.Names)
	}

	users, err := containers.ImageUsers(ctx, client)
	if err != nil {
		errs = append(errs, err)
	} else {
		s, err := g.Store(ctx)
		if err != nil {
			return err
		}
		res, err := registry.PruneImages(ctx, client, s, g.Namespace, registry.PruneOptions{
			All: c.All, Users: users,
			Match: func(img images.Image) bool { return pf.Match(img.CreatedAt, img.Labels) },
		})
		errs = append(errs, err)
		var lines []string
		for _, n := range res.Names {
			lines = append(lines, "untagged: "+n)
		}
		section("Deleted Images:", lines)
	}

	// Build cache has no labels: a label filter matches none of it.
	if !pf.HasLabels() {
		o := build.PruneOptions{All: c.All}
		if !pf.Until.IsZero() {
			o.KeepFor = max(now.Sub(pf.Until), 0)
		}
		bld := build.New(client, g.BuildDaemon(env), g.Registry())
		res, err := bld.Prune(ctx, o)
		bld.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("prune build cache: %w", err))
		}
		if res.Records > 0 {
			fmt.Fprintf(env.Stdout, "Deleted build cache objects: %d\n\n", res.Records)
		}
		reclaimed += res.Bytes
	}
	fmt.Fprintf(env.Stdout, "Total reclaimed space: %s\n", cli.HumanSize(reclaimed))
	return errors.Join(errs...)
}
