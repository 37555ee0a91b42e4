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

	containerd "github.com/containerd/containerd/v2/client"
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

func (c *createCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
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

func (c *lsCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
	match, err := parseFilters(c.Filters)
	if err != nil {
		return err
	}
	if c.Format != "" && c.Format != "json" && c.Format != "table" {
		if _, err := cli.Template(strings.TrimPrefix(c.Format, "table ")); err != nil {
			return err
		}
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

func parseFilters(fs []string) (func(*networks.Network) bool, error) {
	var tests []func(*networks.Network) bool
	for _, s := range fs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, cli.Usagef("bad filter %q: want KEY=VALUE", s)
		}
		switch k {
		case "name":
			tests = append(tests, func(n *networks.Network) bool { return strings.Contains(n.Name, v) })
		case "id":
			tests = append(tests, func(n *networks.Network) bool { return strings.HasPrefix(n.ID, v) })
		case "label":
			tests = append(tests, func(n *networks.Network) bool { return cli.MatchLabel(n.Labels, v) })
		case "driver":
			tests = append(tests, func(n *networks.Network) bool { return n.Driver == v })
		default:
			return nil, cli.Usagef("unknown filter %q: use name=, id=, label= or driver=", k)
		}
	}
	return func(n *networks.Network) bool {
		for _, t := range tests {
			if !t(n) {
				return false
			}
		}
		return true
	}, nil
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

func (c *inspectCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
	refs, err := cli.Targets(a.env, c.Args.Names)
	if err != nil {
		return err
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	items := []inspectItem{}
	failed := 0
	for _, ref := range refs {
		n, err := ns.Get(ctx, ref)
		if err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
			failed++
			continue
		}
		items = append(items, inspectOf(n))
	}
	if c.Format != "" {
		if err := cli.Print(a.env.Stdout, c.Format, cli.Table{}, items); err != nil {
			return err
		}
	} else {
		b, err := json.MarshalIndent(items, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(a.env.Stdout, "%s\n", b)
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

type rmCmd struct {
	cli.Command
	Force bool `short:"f" long:"force" description:"Do not complain about networks that do not exist"`
	Args  struct {
		Names []string `positional-arg-name:"<NETWORK>" required:"1" description:"Networks to remove, by name or ID (\"-\" reads them from stdin)"`
	} `positional-args:"yes"`
}

func (c *rmCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
	refs, err := cli.Targets(a.env, c.Args.Names)
	if err != nil {
		return err
	}
	ns, err := a.networks(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, ref := range refs {
		err := ns.Remove(ctx, ref)
		switch {
		case err == nil:
			fmt.Fprintln(a.env.Stdout, ref)
		case c.Force && errdefs.IsNotFound(err):
		default:
			fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
			failed++
		}
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

type pruneCmd struct {
	cli.Command
	Force   bool     `short:"f" long:"force" description:"Do not ask for confirmation"`
	Filters []string `long:"filter" value-name:"<KEY=VALUE>" description:"Only networks matching: label=KEY[=VALUE]"`
}

func (c *pruneCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
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
	all, err := ns.List(ctx)
	if err != nil {
		return err
	}
	var removed []string
	failed := 0
	for _, n := range all {
		if n.Name == networks.DefaultName || len(n.Endpoints) > 0 || !match(n) {
			continue
		}
		err := ns.Remove(ctx, n.Name)
		switch {
		case err == nil:
			removed = append(removed, n.Name)
		case errdefs.IsFailedPrecondition(err), errdefs.IsNotFound(err):
			// a container joined it, or someone removed it, meanwhile
		default:
			fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
			failed++
		}
	}
	if len(removed) > 0 {
		fmt.Fprintln(a.env.Stdout, "Deleted Networks:")
		for _, n := range removed {
			fmt.Fprintln(a.env.Stdout, n)
		}
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
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

func (c *connectCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
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

func (c *disconnectCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
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

// container finds a container by name, ID or unique ID prefix, and the
// PID of its task if it runs (0 if not).
func (a *app) container(ctx context.Context, ref string) (string, int, error) {
	client, err := a.g.Client(ctx)
	if err != nil {
		return "", 0, err
	}
	defer client.Close()
	cs := client.ContainerService()
	found, err := cs.List(ctx, fmt.Sprintf(`labels."lepton/name"==%s`, strconv.Quote(ref)))
	if err != nil {
		return "", 0, err
	}
	if len(found) == 0 {
		if info, err := cs.Get(ctx, ref); err == nil {
			found = append(found, info)
		} else if isHex(ref) {
			if found, err = cs.List(ctx, "id~=^"+ref); err != nil {
				return "", 0, err
			}
		}
	}
	switch len(found) {
	case 0:
		return "", 0, errdefs.ErrNotFound.WithMessage("no such container: " + cli.Quote(ref))
	case 1:
	default:
		return "", 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%q matches %d containers: give more of the ID", ref, len(found)))
	}
	id := found[0].ID
	ctr, err := client.LoadContainer(ctx, id)
	if err != nil {
		return "", 0, err
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return id, 0, nil
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status != containerd.Running && st.Status != containerd.Paused {
		return id, 0, nil
	}
	return id, int(task.Pid()), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

type hookCmd struct {
	cli.Command
	Args struct {
		Stage string `positional-arg-name:"<STAGE>" required:"1" description:"Up (createRuntime) or down (poststop)"`
		Dir   string `positional-arg-name:"<DIR>" required:"1" description:"The container's directory under the data root"`
	} `positional-args:"yes"`
}

// run is the OCI hook: runc gives the container's state on stdin.
func (c *hookCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
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
