package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/networks"
)

type createCmd struct {
	cli.Command
	Driver   string   `short:"d" long:"driver" default:"bridge" value-name:"<DRIVER>" description:"Network driver (only \"bridge\")"`
	Subnet   string   `long:"subnet" value-name:"<CIDR>" description:"Subnet, such as 10.10.0.0/24 (default: a free one)"`
	Gateway  string   `long:"gateway" value-name:"<IP>" description:"Gateway address (default: the subnet's first)"`
	IPRange  string   `long:"ip-range" value-name:"<CIDR>" description:"Give containers addresses from this part of the subnet only"`
	Internal bool     `long:"internal" description:"No traffic in or out of the network but between its containers"`
	Labels   []string `long:"label" value-name:"<KEY=VALUE>" description:"Set a label (repeatable)"`
	Opts     []string `short:"o" long:"opt" value-name:"<KEY=VALUE>" description:"Driver option (not supported)"`
	Args     struct {
		Name string `positional-arg-name:"<NAME>" required:"1" description:"Network name"`
	} `positional-args:"yes"`
}

func (c *createCmd) run(ctx context.Context, a *app) error {
	if len(c.Opts) > 0 {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("driver option %q is not supported: lepton's bridge driver takes none", c.Opts[0]))
	}
	labels, err := cli.ParseLabels(c.Labels)
	if err != nil {
		return err
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	n, err := ns.Create(ctx, networks.CreateOptions{
		Name: c.Args.Name, Driver: c.Driver, Subnet: c.Subnet, Gateway: c.Gateway,
		IPRange: c.IPRange, Internal: c.Internal, Labels: labels,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.env.Stdout, n.ID)
	return nil
}

type lsCmd struct {
	cli.Command
	Quiet   bool     `short:"q" long:"quiet" description:"Print network IDs only"`
	NoTrunc bool     `long:"no-trunc" description:"Print whole IDs"`
	Filters []string `short:"f" long:"filter" value-name:"<KEY=VALUE>" description:"Filter: name=SUBSTRING, id=PREFIX, label=KEY[=VALUE], driver=bridge"`
	Format  string   `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
}

// lsItem is one line of `network ls`, shaped like docker's --format json.
type lsItem struct {
	CreatedAt string
	Driver    string
	ID        string
	IPv6      string
	Internal  string
	Labels    string
	Name      string
	Scope     string
}

func (c *lsCmd) run(ctx context.Context, a *app) error {
	match, err := parseFilters(c.Filters)
	if err != nil {
		return err
	}
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	all, err := ns.List(ctx)
	if err != nil {
		return err
	}
	var items []lsItem
	for _, n := range all {
		if !match(n) {
			continue
		}
		id := n.ID
		if !c.NoTrunc && c.Format != "json" {
			id = id[:12]
		}
		if c.Quiet {
			fmt.Fprintln(a.env.Stdout, id)
			continue
		}
		items = append(items, lsItem{
			CreatedAt: n.CreatedAt.Format(time.RFC3339), Driver: n.Driver, ID: id, IPv6: "false",
			Internal: strconv.FormatBool(n.Internal), Labels: cli.JoinLabels(n.Labels), Name: n.Name, Scope: "local",
		})
	}
	if c.Quiet {
		return nil
	}
	return cli.Print(a.env.Stdout, c.Format, cli.Table{
		Headers: []string{"NETWORK ID", "NAME", "DRIVER", "SCOPE"},
		Row:     "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
	}, items)
}

// parseFilters reads ls's --filter flags (prune's too): name=SUBSTRING,
// id=PREFIX, label=KEY[=VALUE], driver=NAME, matched by docker's rule (see
// cli.Filters).
func parseFilters(fs []string) (func(*networks.Network) bool, error) {
	f, err := cli.ParseFilters(fs, "name", "id", "label", "driver")
	if err != nil {
		return nil, err
	}
	return func(n *networks.Network) bool { return matchNetwork(f, n) }, nil
}

func matchNetwork(f cli.Filters, n *networks.Network) bool {
	return f.Match("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		f.Match("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		f.MatchAll("label", func(v string) bool { return cli.MatchLabel(n.Labels, v) }) &&
		f.Match("driver", func(v string) bool { return n.Driver == v })
}

type inspectCmd struct {
	cli.Command
	Format string `short:"f" long:"format" value-name:"<FORMAT>" description:"Go template applied to each network (default: a JSON array)"`
	Args   struct {
		Names []string `positional-arg-name:"<NETWORK>" required:"1" description:"Networks to inspect, by name or ID (\"-\" reads them from stdin)"`
	} `positional-args:"yes"`
}

// inspectItem is docker's `network inspect` shape.
type inspectItem struct {
	Name       string
	ID         string `json:"Id"`
	Created    string
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       ipam
	Internal   bool
	Attachable bool
	Containers map[string]endpointItem
	Options    map[string]string
	Labels     map[string]string
}

type ipam struct {
	Driver string
	Config []ipamConfig
}

type ipamConfig struct {
	Subnet  string
	Gateway string
	IPRange string `json:",omitempty"`
}

type endpointItem struct {
	Name        string
	MacAddress  string
	IPv4Address string
	IPv6Address string
	Aliases     []string `json:",omitempty"`
	Ports       []string `json:",omitempty"`
}

func inspectOf(n *networks.Network) inspectItem {
	it := inspectItem{
		Name: n.Name, ID: n.ID, Created: n.CreatedAt.Format(time.RFC3339Nano), Scope: "local", Driver: n.Driver,
		IPAM:       ipam{Driver: "default", Config: []ipamConfig{{Subnet: n.Subnet, Gateway: n.Gateway, IPRange: n.IPRange}}},
		Internal:   n.Internal,
		Containers: map[string]endpointItem{},
		Options:    map[string]string{"lepton.bridge": n.Bridge},
		Labels:     n.Labels,
	}
	if it.Labels == nil {
		it.Labels = map[string]string{}
	}
	bits := netip.MustParsePrefix(n.Subnet).Bits()
	for id, e := range n.Endpoints {
		var ports []string
		for _, p := range e.Ports {
			ports = append(ports, p.String())
		}
		it.Containers[id] = endpointItem{Name: e.Name, MacAddress: e.MAC, IPv4Address: fmt.Sprintf("%s/%d", e.IP, bits), Aliases: e.Aliases, Ports: ports}
	}
	return it
}

func (c *inspectCmd) run(ctx context.Context, a *app) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	var items []inspectItem
	failed := cli.ForEach(a.env, c.Args.Names, func(ref string) (string, error) {
		n, err := ns.Get(ctx, ref)
		if err != nil {
			return "", err
		}
		items = append(items, inspectOf(n))
		return "", nil
	})
	return cli.PrintInspect(a.env.Stdout, c.Format, items, failed)
}

type rmCmd struct {
	cli.Command
	Force bool `short:"f" long:"force" description:"Do not complain about networks that do not exist"`
	Args  struct {
		Names []string `positional-arg-name:"<NETWORK>" required:"1" description:"Networks to remove, by name or ID (\"-\" reads them from stdin)"`
	} `positional-args:"yes"`
}

func (c *rmCmd) run(ctx context.Context, a *app) error {
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	return cli.ForEach(a.env, c.Args.Names, func(ref string) (string, error) {
		err := ns.Remove(ctx, ref)
		switch {
		case err == nil:
			return ref, nil
		case c.Force && errdefs.IsNotFound(err):
			return "", nil
		}
		return "", err
	})
}

type pruneCmd struct {
	cli.Command
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only networks matching: label=KEY[=VALUE]"`
}

func (c *pruneCmd) run(ctx context.Context, a *app) error {
	for _, f := range c.Filters {
		if !strings.HasPrefix(f, "label=") {
			return cli.Usagef("prune accepts only label= filters")
		}
	}
	match, err := parseFilters(c.Filters)
	if err != nil {
		return err
	}
	if !c.Force && !cli.Confirm(a.env, "This will remove all networks not used by at least one running container.") {
		return nil
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	removed, err := ns.Prune(ctx, match)
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Networks:")
		for _, n := range removed {
			fmt.Fprintln(a.env.Stdout, n)
		}
	}
	return err
}

type connectCmd struct {
	cli.Command
	IP      string   `long:"ip" value-name:"<IP>" description:"Address on the network (default: a free one)"`
	Aliases []string `long:"alias" value-name:"<NAME>" description:"Another name the container answers to on the network"`
	Args    struct {
		Network   string `positional-arg-name:"<NETWORK>" required:"1" description:"Network name or ID"`
		Container string `positional-arg-name:"<CONTAINER>" required:"1" description:"Container name or ID"`
	} `positional-args:"yes"`
}

func (c *connectCmd) run(ctx context.Context, a *app) error {
	if c.IP != "" {
		if err := networks.ParseIP(c.IP); err != nil {
			return err
		}
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	n, err := ns.Get(ctx, c.Args.Network)
	if err != nil {
		return err
	}
	id, pid, err := a.container(ctx, c.Args.Container)
	if err != nil {
		return err
	}
	return ns.Connect(ctx, id, pid, a.g.ContainerDir(id), networks.Attachment{Network: n.Name, IP: c.IP, Aliases: c.Aliases})
}

type disconnectCmd struct {
	cli.Command
	Force bool `short:"f" long:"force" description:"Do not complain if the container is not on the network"`
	Args  struct {
		Network   string `positional-arg-name:"<NETWORK>" required:"1" description:"Network name or ID"`
		Container string `positional-arg-name:"<CONTAINER>" required:"1" description:"Container name or ID"`
	} `positional-args:"yes"`
}

func (c *disconnectCmd) run(ctx context.Context, a *app) error {
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	n, err := ns.Get(ctx, c.Args.Network)
	if err != nil {
		return err
	}
	id, _, err := a.container(ctx, c.Args.Container)
	if err != nil {
		return err
	}
	err = ns.Disconnect(ctx, id, a.g.ContainerDir(id), n.Name)
	if c.Force && errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

type hookCmd struct {
	cli.Command
	Args struct {
		Stage string `positional-arg-name:"<STAGE>" required:"1" description:"Up (createRuntime) or down (poststop)"`
		Dir   string `positional-arg-name:"<DIR>" required:"1" description:"The container's directory under the data root"`
	} `positional-args:"yes"`
}

// run is the OCI hook: runc gives the container's state on stdin.
func (c *hookCmd) run(ctx context.Context, a *app) error {
	var st struct {
		ID  string `json:"id"`
		Pid int    `json:"pid"`
	}
	b, err := io.ReadAll(a.env.Stdin)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &st); err != nil || st.ID == "" {
		return fmt.Errorf("__hook is run by runc, with the container's state on stdin: %v", err)
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	switch c.Args.Stage {
	case "up":
		return ns.Attach(ctx, st.ID, st.Pid, c.Args.Dir)
	case "down":
		return ns.Detach(ctx, st.ID)
	}
	return cli.Usagef("unknown hook stage %q: want up or down", c.Args.Stage)
}
