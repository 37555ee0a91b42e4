package volume

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/volumes"
)

type createCmd struct {
	cli.Command
	Driver string   `short:"d" long:"driver" default:"local" value-name:"<DRIVER>" description:"Volume driver (only \"local\")"`
	Labels []string `long:"label" value-name:"<KEY=VALUE>" description:"Set a label (repeatable)"`
	Opts   []string `short:"o" long:"opt" value-name:"<KEY=VALUE>" description:"Driver option (not supported: the local driver takes none)"`
	Args   struct {
		Name string `positional-arg-name:"<NAME>" description:"Volume name (random if omitted)"`
	} `positional-args:"yes"`
}

func (c *createCmd) run(ctx context.Context, a *app) error {
	if len(c.Opts) > 0 {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf(
			"driver option %q is not supported: lepton's local driver keeps a plain directory and takes no -o options; drop -o (bind-mount a host path with run -v instead)", c.Opts[0]))
	}
	labels, err := cli.ParseLabels(c.Labels)
	if err != nil {
		return err
	}
	vs, err := a.volumes(ctx)
	if err != nil {
		return err
	}
	v, err := vs.Create(ctx, volumes.CreateOptions{Name: c.Args.Name, Driver: c.Driver, Labels: labels})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.env.Stdout, v.Name)
	return nil
}

type lsCmd struct {
	cli.Command
	Quiet   bool     `short:"q" long:"quiet" description:"Print volume names only"`
	Filters []string `short:"f" long:"filter" value-name:"<KEY=VALUE>" description:"Filter: name=SUBSTRING, label=KEY[=VALUE], dangling=true|false"`
	Format  string   `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
}

// lsItem is one line of `volume ls`, shaped like docker's --format json.
type lsItem struct {
	Driver     string
	Labels     string
	Mountpoint string
	Name       string
	Scope      string
	CreatedAt  string
}

func (c *lsCmd) run(ctx context.Context, a *app) error {
	f, err := parseFilters(c.Filters)
	if err != nil {
		return err
	}
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	vs, err := a.volumes(ctx)
	if err != nil {
		return err
	}
	all, err := vs.List(ctx)
	if err != nil {
		return err
	}
	if f.needsUsers() {
		users, closeFn, err := a.users(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		if f.used, err = users(ctx); err != nil {
			return err
		}
	}
	var items []lsItem
	for _, v := range all {
		if !f.match(v) {
			continue
		}
		if c.Quiet {
			fmt.Fprintln(a.env.Stdout, v.Name)
			continue
		}
		items = append(items, lsItem{
			Driver: v.Driver, Labels: cli.JoinLabels(v.Labels), Mountpoint: v.Mountpoint,
			Name: v.Name, Scope: "local", CreatedAt: v.CreatedAt.Format(time.RFC3339),
		})
	}
	if c.Quiet {
		return nil
	}
	return cli.Print(a.env.Stdout, c.Format, cli.Table{
		Headers: []string{"DRIVER", "VOLUME NAME"},
		Row:     "{{.Driver}}\t{{.Name}}",
	}, items)
}

type inspectCmd struct {
	cli.Command
	Format string `short:"f" long:"format" value-name:"<FORMAT>" description:"Go template applied to each volume (default: a JSON array)"`
	Args   struct {
		Names []string `positional-arg-name:"<NAME>" required:"1" description:"Volumes to inspect (\"-\" reads names or JSON lines from stdin)"`
	} `positional-args:"yes"`
}

// inspectItem is docker's `volume inspect` shape.
type inspectItem struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

func (c *inspectCmd) run(ctx context.Context, a *app) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	vs, err := a.volumes(ctx)
	if err != nil {
		return err
	}
	var items []inspectItem
	failed := cli.ForEach(a.env, c.Args.Names, func(n string) (string, error) {
		v, err := vs.Get(ctx, n)
		if err != nil {
			return "", err
		}
		labels := v.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		items = append(items, inspectItem{
			CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Labels: labels,
			Mountpoint: v.Mountpoint, Name: v.Name, Options: map[string]string{}, Scope: "local",
		})
		return "", nil
	})
	return cli.PrintInspect(a.env.Stdout, c.Format, items, failed)
}

type rmCmd struct {
	cli.Command
	Force bool `short:"f" long:"force" description:"Do not complain about volumes that do not exist"`
	Args  struct {
		Names []string `positional-arg-name:"<NAME>" required:"1" description:"Volumes to remove (\"-\" reads names or JSON lines from stdin)"`
	} `positional-args:"yes"`
}

func (c *rmCmd) run(ctx context.Context, a *app) error {
	vs, err := a.volumes(ctx)
	if err != nil {
		return err
	}
	users, closeFn, err := a.users(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	return cli.ForEach(a.env, c.Args.Names, func(n string) (string, error) {
		err := vs.Remove(ctx, n, users)
		switch {
		case err == nil:
			return n, nil
		case c.Force && errdefs.IsNotFound(err):
			return "", nil
		}
		return "", err
	})
}

type pruneCmd struct {
	cli.Command
	All     bool     `short:"a" long:"all" description:"Remove all unused volumes, not only anonymous ones"`
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only volumes matching: label=KEY[=VALUE], label!=KEY[=VALUE]"`
}

func (c *pruneCmd) run(ctx context.Context, a *app) error {
	f, err := parseFilters(c.Filters)
	if err != nil {
		return err
	}
	if f.Has("name") || f.Has("dangling") {
		return cli.Usagef("prune accepts only label and label! filters")
	}
	if !c.Force {
		what := "anonymous local volumes"
		if c.All {
			what = "all local volumes"
		}
		if !cli.Confirm(a.env, "This will remove "+what+" not used by at least one container.") {
			return nil
		}
	}
	vs, err := a.volumes(ctx)
	if err != nil {
		return err
	}
	users, closeFn, err := a.users(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := vs.Prune(ctx, users, volumes.PruneOptions{All: c.All, Match: f.match})
	removed, reclaimed := res.Names, res.Bytes
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Volumes:")
		for _, n := range removed {
			fmt.Fprintln(a.env.Stdout, n)
		}
		fmt.Fprintln(a.env.Stdout)
	}
	fmt.Fprintf(a.env.Stdout, "Total reclaimed space: %s\n", cli.HumanSize(reclaimed))
	return err
}

// volumes opens the volumes of the selected namespace. Their changes are
// told as events, through a connection made only for each one, so the
// commands work without containerd as before.
func (a *app) volumes(ctx context.Context) (*volumes.Volumes, error) {
	s, err := a.g.Store(ctx)
	if err != nil {
		return nil, err
	}
	return volumes.Open(s, a.g.Namespace, volumes.WithEvents(a.g.Events()))
}

// users connects to containerd to learn which volumes are in use.
func (a *app) users(ctx context.Context) (volumes.Users, func(), error) {
	c, err := a.g.Client(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot tell which volumes are in use: %w", err)
	}
	// Ask once per command, not once per volume.
	var cached map[string][]string
	users := func(ctx context.Context) (map[string][]string, error) {
		if cached != nil {
			return cached, nil
		}
		m, err := volumes.ContainerUsers(c)(ctx)
		cached = m
		return m, err
	}
	return users, func() { c.Close() }, nil
}
