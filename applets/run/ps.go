//go:build !windows

package run

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
)

type psCmd struct {
	cli.Command
	All     bool     `short:"a" long:"all" description:"Show all containers, not only running ones"`
	Quiet   bool     `short:"q" long:"quiet" description:"Print container IDs only"`
	Last    int      `short:"n" long:"last" value-name:"<N>" default:"-1" description:"Show the N most recently created containers (all states)"`
	Latest  bool     `short:"l" long:"latest" description:"Show the most recently created container (all states)"`
	NoTrunc bool     `long:"no-trunc" description:"Do not shorten IDs and commands"`
	Filters []string `short:"f" long:"filter" value-name:"<KEY=VALUE>" description:"Filter: name=REGEXP, label=KEY[=VALUE], status=, ancestor=, id=, exited=, health="`
	Format  string   `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
	Size    bool     `short:"s" long:"size" description:"Show disk use: the writable layer, and it with the image's (virtual)"`
}

// psItem is one row of ps, with docker's --format json field names.
type psItem struct {
	Command    string
	CreatedAt  string
	ID         string
	Image      string
	Labels     string
	Mounts     string
	Names      string
	Networks   string
	Ports      string
	RunningFor string
	Size       string `json:",omitempty"` // with -s, docker's "12.3kB (virtual 4.5MB)"
	SizeRootFs *int64 `json:",omitempty"` // with -s, in bytes: the writable layer and the image's
	SizeRw     *int64 `json:",omitempty"` // with -s, in bytes: the writable layer
	State      string
	Status     string

	snapshotter, snapshotKey string // for -s

	created time.Time
	exit    uint32
	labels  map[string]string
	health  string // starting, healthy, unhealthy, or none without a healthcheck
}

func (p *psCmd) run(ctx context.Context, a *app, rest []string) error {
	f, err := parsePsFilters(p.Filters)
	if err != nil {
		return err
	}
	if err := cli.CheckFormat(p.Format); err != nil {
		return err
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
	byID := make(map[string]*tasktypes.Process, len(resp.Tasks))
	for _, t := range resp.Tasks {
		byID[t.ID] = t
	}
	now := time.Now()
	items := make([]psItem, 0, len(all))
	var idx netIndex // read only if some running container is on a network
	for _, info := range all {
		if containers.IsBuildStep(info) {
			continue
		}
		st := containers.StateOf(info, byID[info.ID])
		if !p.All && p.Last < 0 && !p.Latest && !f.Has("status") && st.Status != "running" && st.Status != "paused" {
			continue
		}
		it := psItem{
			ID: info.ID, Image: info.Image, Names: info.Labels[containers.LabelName],
			Command: info.Labels[containers.LabelCommand], created: info.CreatedAt, exit: st.ExitCode,
			State: st.Status, labels: info.Labels, Labels: joinUserLabels(info.Labels),
			CreatedAt:  info.CreatedAt.Format("2006-01-02 15:04:05 -0700 MST"),
			RunningFor: containers.Ago(now, info.CreatedAt), Status: containers.StatusText(now, info, st),
			Mounts: strings.Join(volumeNames(info.Labels), ","),
		}
		if it.Names == "" {
			it.Names = info.ID
		}
		it.health = containers.HealthNone
		if info.Labels[containers.LabelHealthcheck] == "true" {
			it.health = containers.HealthStarting
			if h := containers.ReadHealth(containers.Dir(a.g.DataRoot, a.g.Namespace, info.ID)); h != nil {
				it.health = h.Status
			}
			if st.Status == "running" {
				it.Status += containers.HealthText(it.health)
			}
		}
		it.snapshotter, it.snapshotKey = info.Snapshotter, info.SnapshotKey
		if mode := info.Labels[containers.LabelNetwork]; mode != "" {
			it.Networks = mode
			if st.Status == "running" || st.Status == "paused" {
				if idx == nil {
					idx = netIndex{}
					if nets, err := a.openNetworks(ctx); err == nil {
						idx = readNetIndex(ctx, nets)
					}
				}
				it.Ports = idx.portsText(info.ID)
				if names := idx.networkNames(info.ID); names != "" {
					it.Networks = names
				}
			}
		}
		if !f.match(&it) {
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].created.After(items[j].created) })
	if p.Latest {
		p.Last = 1
	}
	if p.Last >= 0 && len(items) > p.Last {
		items = items[:p.Last]
	}
	if !p.NoTrunc && p.Format != "json" {
		for i := range items {
			items[i].ID = items[i].ID[:min(12, len(items[i].ID))]
			items[i].Command = strconv.Quote(truncateWithDots(items[i].Command, 20))
		}
	} else if p.Format != "json" {
		for i := range items {
			items[i].Command = strconv.Quote(items[i].Command)
		}
	}
	if p.Quiet {
		for _, it := range items {
			fmt.Fprintln(a.env.Stdout, it.ID)
		}
		return nil
	}
	table := cli.Table{
		Headers: []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"},
		Row:     "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
	}
	if p.Size {
		addSizes(ctx, c, items)
		table.Headers, table.Row = append(table.Headers, "SIZE"), table.Row+"\t{{.Size}}"
	}
	return cli.Print(a.env.Stdout, p.Format, table, items)
}

// addSizes fills in ps -s's sizes: the writable layer's disk use, as its
// snapshotter counts it, and that plus the image's layers (docker's
// virtual size). A container whose snapshot cannot be measured is left
// blank. The image's layers are measured once each, however many
// containers share them.
func addSizes(ctx context.Context, c *containerd.Client, items []psItem) {
	chains := map[string]int64{} // snapshotter and key of a committed layer: it and those under it
	for i := range items {
		it := &items[i]
		if it.snapshotKey == "" {
			continue
		}
		sn := c.SnapshotService(it.snapshotter)
		u, err := sn.Usage(ctx, it.snapshotKey)
		if err != nil {
			continue
		}
		rw, all := u.Size, u.Size
		if st, err := sn.Stat(ctx, it.snapshotKey); err == nil && st.Parent != "" {
			all += chainSize(ctx, sn, it.snapshotter, st.Parent, chains)
		}
		it.SizeRw, it.SizeRootFs = &rw, &all
		it.Size = fmt.Sprintf("%s (virtual %s)", units.HumanSizeWithPrecision(float64(rw), 3), units.HumanSizeWithPrecision(float64(all), 3))
	}
}

// chainSize is the disk use of the committed layer key and every layer
// under it, remembered in memo by snapshotter and key.
func chainSize(ctx context.Context, sn snapshots.Snapshotter, snapshotter, key string, memo map[string]int64) int64 {
	var todo []string
	var below int64
	for key != "" {
		if n, ok := memo[snapshotter+"\x00"+key]; ok {
			below = n
			break
		}
		todo = append(todo, key)
		st, err := sn.Stat(ctx, key)
		if err != nil {
			break
		}
		key = st.Parent
	}
	for i := len(todo) - 1; i >= 0; i-- {
		if u, err := sn.Usage(ctx, todo[i]); err == nil {
			below += u.Size
		}
		memo[snapshotter+"\x00"+todo[i]] = below
	}
	return below
}

func truncateWithDots(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// joinUserLabels lists the user's labels as docker's ps does: k=v,k=v.
func joinUserLabels(m map[string]string) string {
	var kv []string
	for k, v := range m {
		if isInternalLabel(k) {
			continue
		}
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func isInternalLabel(k string) bool {
	return strings.HasPrefix(k, "lepton/") || strings.HasPrefix(k, "lepton.volume/") || strings.HasPrefix(k, "containerd.io/") || strings.HasPrefix(k, "io.containerd.")
}

func volumeNames(labels map[string]string) []string {
	var out []string
	for k := range labels {
		if v, ok := strings.CutPrefix(k, "lepton.volume/"); ok {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// psFilter is ps's --filter, matched by docker's rule (see cli.Filters):
// name=REGEXP, label=KEY[=VALUE], status=STATE, ancestor=IMAGE,
// id=PREFIX, exited=CODE.
type psFilter struct {
	cli.Filters
	names map[string]*regexp.Regexp // each name= value, compiled
}

func parsePsFilters(fs []string) (*psFilter, error) {
	parsed, err := cli.ParseFilters(fs, "name", "label", "status", "ancestor", "id", "exited", "health")
	if err != nil {
		return nil, err
	}
	f := &psFilter{Filters: parsed, names: map[string]*regexp.Regexp{}}
	for _, v := range f.Filters["name"] {
		re, err := regexp.Compile(v)
		if err != nil {
			// The error spells the expression out raw: quote it.
			why := err.Error()
			var se *syntax.Error
			if errors.As(err, &se) {
				why = fmt.Sprintf("%s in %q", se.Code, se.Expr)
			}
			return nil, cli.Usagef("bad filter %q: name takes a regular expression (such as ^web$): %s", "name="+v, why)
		}
		f.names[v] = re
	}
	for _, v := range f.Filters["status"] {
		switch v {
		case "created", "running", "paused", "exited", "restarting", "removing", "dead":
		default:
			return nil, cli.Usagef("bad filter %q: status is one of created, running, paused, exited, restarting, removing, dead", "status="+v)
		}
	}
	for _, v := range f.Filters["health"] {
		switch v {
		case containers.HealthStarting, containers.HealthHealthy, containers.HealthUnhealthy, containers.HealthNone:
		default:
			return nil, cli.Usagef("bad filter %q: health is one of starting, healthy, unhealthy, none", "health="+v)
		}
	}
	for _, v := range f.Filters["exited"] {
		if _, err := strconv.Atoi(v); err != nil {
			return nil, cli.Usagef("bad filter %q: exited takes an exit code", "exited="+v)
		}
	}
	return f, nil
}

func (f *psFilter) match(it *psItem) bool {
	return f.Match("name", func(v string) bool { return matchName(f.names[v], it.Names) }) &&
		f.MatchAll("label", func(l string) bool { return cli.MatchLabel(it.labels, l) }) &&
		f.Match("status", func(s string) bool { return s == it.State }) &&
		f.Match("ancestor", func(a string) bool {
			n, err := registry.Normalize(a)
			return it.Image == a || err == nil && it.Image == n
		}) &&
		f.Match("id", func(p string) bool { return strings.HasPrefix(it.ID, p) }) &&
		f.Match("exited", func(v string) bool {
			n, _ := strconv.Atoi(v)
			return it.State == "exited" && uint32(n) == it.exit
		}) &&
		f.Match("health", func(h string) bool { return h == it.health })
}

// matchName applies a name filter as docker does, a regular expression
// that may match anywhere (web matches webapp, ^web$ only web), against
// the name as docker's API spells it, with a leading "/", and as lepton
// and docker ps print it, without: so ^/web$ and ^web$ both work.
func matchName(re *regexp.Regexp, name string) bool {
	return re.MatchString(name) || re.MatchString("/"+name)
}

var _ = containerd.Running

// Label is docker's {{.Label "KEY"}} in a ps --format template.
func (it psItem) Label(key string) string { return it.labels[key] }
