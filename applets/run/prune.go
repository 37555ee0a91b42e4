//go:build !windows

package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type pruneCmd struct {
	cli.Command
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only containers matching: label=KEY[=VALUE], until=TIME"`
}

// run removes every container that is not running, then what killed
// lepton processes left: name claims with no container and no live
// creator, and container directories nobody owns.
func (p *pruneCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", rest[0])
	}
	var labels []string
	var until time.Time
	for _, f := range p.Filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case ok && k == "label":
			labels = append(labels, v)
		case ok && k == "until":
			t, err := parseTime(v, time.Now())
			if err != nil {
				return err
			}
			until = t
		default:
			return cli.Usagef("bad filter %q: prune takes label=KEY[=VALUE] and until=TIME", f)
		}
	}
	if !p.Force && !cli.Confirm(a.env, "This will remove all stopped containers.") {
		return nil
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	all, err := c.ContainerService().List(ctx)
	if err != nil {
		return err
	}
	resp, err := c.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return err
	}
	byID := map[string]*tasktypes.Process{}
	for _, t := range resp.Tasks {
		byID[t.ID] = t
	}
	d, err := a.deps(ctx, c)
	if err != nil {
		return err
	}
	var removed []string
	var reclaimed int64
	failed := 0
	for _, info := range all {
		st := stateOf(info, byID[info.ID])
		if st.status == "running" || st.status == "paused" {
			continue
		}
		if !until.IsZero() && !info.CreatedAt.Before(until) {
			continue
		}
		keep := false
		for _, l := range labels {
			keep = keep || !cli.MatchLabel(info.Labels, l)
		}
		if keep {
			continue
		}
		size := dirSize(a.g.ContainerDir(info.ID))
		// The list above is old by now: RemoveIfStopped decides again
		// under the name lock a run or start holds while it works, and
		// never kills anything.
		ok, err := containers.RemoveIfStopped(ctx, d, info.ID, false)
		if err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: %s: %v\n", a.env.Name, info.ID[:12], err)
			failed++
			continue
		}
		if ok {
			removed = append(removed, info.ID)
			reclaimed += size
		}
	}
	// What killed commands left: stale claims with their snapshots and
	// directories, and the unfinished work of dead leptons. Orphan tasks,
	// snapshots and mounts are system check's.
	containers.Sweep(ctx, d)
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Containers:")
		for _, id := range removed {
			fmt.Fprintln(a.env.Stdout, id)
		}
		fmt.Fprintln(a.env.Stdout)
	}
	fmt.Fprintf(a.env.Stdout, "Total reclaimed space: %s\n", bytesSI(uint64(reclaimed)))
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
