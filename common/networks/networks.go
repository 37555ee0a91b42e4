// Package networks keeps lepton's bridge networks and connects containers
// to them, natively: links through netlink, NAT and filtering through
// nftables, addresses in lepton's store. No CNI plugin or other program runs.
//
// State:
//
//	store collection "networks" of the namespace, one record per network
//	name: the network's settings and its endpoints (container ID → address,
//	aliases, published ports). IP allocation, endpoint changes and the
//	rewriting of peers' /etc/hosts all happen under that record's lock.
//
//	<data-root>/containers/<namespace>/<id>/network.json   a container's Plan
//	<data-root>/containers/<namespace>/<id>/hosts          its /etc/hosts
//
// On the host: one bridge per network, named "lp-" and 12 hex digits of its
// ID; one veth pair per endpoint ("lv…" outside, ethN inside); and the
// nftables table "ip lepton", whose rules carry user data naming their
// owner ("lepton:n:<network ID>", "lepton:p:<container ID>:…") so they can
// be found and removed. Host-wide choices (a free subnet, a free host port)
// are made under the flock /run/lepton/network.lock, since other data roots
// share the host.
//
// A container joins its networks between the creation and the start of
// its task (Attach, from common/containers' Start) and leaves them when it
// ends (Detach). A container with a restart policy, which containerd's
// restart monitor starts with no lepton around, does both from OCI hooks
// instead (lepton-network __hook up|down), so every start of its task gets
// a network and every end of one gives it back.
//
// Concurrency: every change to a network's record (addresses, endpoints,
// the peers' hosts files) happens under that record's lock, and creation
// writes the record, marked as being created, before the bridge and rules
// exist, so a killed create leaves a record that Check rolls back.
package networks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/text"
)

// DefaultName is the network containers join unless told otherwise, as
// docker's "bridge". It is made on first use and cannot be removed; as in
// docker, its containers do not find each other by name.
const DefaultName = "bridge"

// Network is one network's record.
type Network struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Driver    string               `json:"driver"`
	Bridge    string               `json:"bridge"`
	Subnet    string               `json:"subnet"`
	Gateway   string               `json:"gateway"`
	IPRange   string               `json:"ipRange,omitempty"`
	Internal  bool                 `json:"internal,omitempty"`
	Labels    map[string]string    `json:"labels,omitempty"`
	CreatedAt time.Time            `json:"createdAt"`
	LastIP    string               `json:"lastIP,omitempty"` // allocation goes round from here, so a freed address rests a while
	Endpoints map[string]*Endpoint `json:"endpoints,omitempty"`
	// Creating is set while the network's bridge and rules are being made.
	// The creator holds the record's lock all along, so a record found
	// Creating under the lock is what a killed create left: its host
	// objects are torn down and the record removed (see Check).
	Creating bool `json:"creating,omitempty"`
}

// Endpoint is a running container's place on a network.
type Endpoint struct {
	Name      string   `json:"name"` // the container's name
	Aliases   []string `json:"aliases,omitempty"`
	IP        string   `json:"ip"`
	MAC       string   `json:"mac,omitempty"`
	Iface     string   `json:"iface"` // the host side of its veth pair
	HostsFile string   `json:"hostsFile,omitempty"`
	Ports     []Port   `json:"ports,omitempty"`
	Pid       int      `json:"pid,omitempty"`      // the task's first process, and
	PidStart  uint64   `json:"pidStart,omitempty"` // its start time: while it lives, so does the endpoint
}

// Port is a published port. In a Plan, HostPort 0 asks for a free one.
type Port struct {
	HostIP        string `json:"hostIP,omitempty"` // "" for every address
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"` // tcp or udp
}

// String is docker's way of showing a mapping: 0.0.0.0:8080->80/tcp.
func (p Port) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Proto)
}

// Attachment is one network a container is to join.
type Attachment struct {
	Network string   `json:"network"` // name
	IP      string   `json:"ip,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
	MAC     string   `json:"mac,omitempty"` // the container side's address; "" for a random one
}

// Plan is how a container is to be networked, written when it is created
// and read by the hooks each time its task starts and ends.
type Plan struct {
	Name      string       `json:"name"`
	Hostname  string       `json:"hostname"`
	Networks  []Attachment `json:"networks"`
	Ports     []Port       `json:"ports,omitempty"` // published on the first network
	HostsBase string       `json:"hostsBase"`       // /etc/hosts before any network's lines
}

// PlanFile is where a container's Plan lives in its directory.
const PlanFile = "network.json"

// ReadPlan reads the Plan in a container's directory.
func ReadPlan(dir string) (*Plan, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("damaged %s in %s: %v", PlanFile, dir, err))
	}
	return &p, nil
}

// WritePlan replaces the Plan in a container's directory, atomically.
func WritePlan(dir string, p *Plan) error {
	b, err := json.MarshalIndent(p, "", "\t")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+PlanFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, PlanFile))
}

// Networks is the set of networks of one containerd namespace.
type Networks struct {
	coll      *store.Collection
	namespace string
	events    events.Publisher
}

// Option sets what Open cannot work out for itself.
type Option func(*Networks)

// WithEvents publishes docker's network events through p (see
// common/events): create and destroy of a network, connect and disconnect
// of a container by Connect and Disconnect. The default network, which
// is there from the first use on as docker's "bridge" always is, has none;
// nor have the joins and leaves of a container's start and end. Without
// it nothing is published.
func WithEvents(p events.Publisher) Option {
	return func(ns *Networks) { ns.events = p }
}

// Open returns the networks of namespace in s.
func Open(s *store.Store, namespace string, opts ...Option) (*Networks, error) {
	c, err := s.Collection(namespace, "networks")
	if err != nil {
		return nil, err
	}
	ns := &Networks{coll: c, namespace: namespace}
	for _, o := range opts {
		o(ns)
	}
	return ns, nil
}

// publishEvent sends a network event about n, with extra attributes, as docker
// does (name and type, the driver); best effort, see events.Publish.
func (ns *Networks) publishEvent(ctx context.Context, action string, n *Network, extra map[string]string) {
	if ns.events == nil || n.Name == DefaultName {
		return
	}
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	for k, v := range extra {
		attrs[k] = v
	}
	events.Publish(ctx, ns.events, ns.namespace, events.Event{Type: events.Network, Action: action, Actor: events.Actor{ID: n.ID, Attributes: attrs}})
}

// CreateOptions says what network to create. Empty Subnet picks a free
// one; empty Gateway takes the subnet's first address.
type CreateOptions struct {
	Name     string
	Driver   string
	Subnet   string
	Gateway  string
	IPRange  string
	Internal bool
	Labels   map[string]string
}

// ValidName is docker's rule for network names, which the store accepts.
func ValidName(name string) error {
	if name == "" || len(name) > 128 || strings.IndexFunc(name, func(r rune) bool {
		return !(r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'))
	}) >= 0 || !isAlnum(name[0]) {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid network name %q: use 1 to 128 of [a-zA-Z0-9_.-], starting with a letter or digit", name))
	}
	switch name {
	case "none", "host", "default", "container":
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%q is a network mode, not a network name: choose another name", name))
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// parseOptions checks o without touching anything and fills a Network.
func parseOptions(o CreateOptions) (*Network, error) {
	if o.Driver != "" && o.Driver != "bridge" {
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("network driver %q is not supported: lepton has only \"bridge\"", o.Driver))
	}
	n := &Network{Name: o.Name, Driver: "bridge", Internal: o.Internal, Labels: o.Labels, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if o.Subnet == "" {
		if o.Gateway != "" || o.IPRange != "" {
			return nil, errdefs.ErrInvalidArgument.WithMessage("--gateway and --ip-range need --subnet")
		}
		return n, nil
	}
	sub, err := parseCIDR("--subnet", o.Subnet)
	if err != nil {
		return nil, err
	}
	if sub.Bits() > 30 {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--subnet %s is too small: it needs room for a gateway and a container (at most /30)", o.Subnet))
	}
	n.Subnet = sub.String()
	if o.IPRange != "" {
		r, err := parseCIDR("--ip-range", o.IPRange)
		if err != nil {
			return nil, err
		}
		if !sub.Contains(r.Addr()) || r.Bits() < sub.Bits() {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--ip-range %s is not inside --subnet %s", r, sub))
		}
		n.IPRange = r.String()
	}
	if o.Gateway != "" {
		gw, err := netip.ParseAddr(o.Gateway)
		if err != nil || !gw.Is4() {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --gateway %q: want an IPv4 address", o.Gateway))
		}
		if !sub.Contains(gw) || gw == sub.Addr() || gw == broadcast(sub) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--gateway %s is not a host address of --subnet %s", gw, sub))
		}
		n.Gateway = gw.String()
	} else {
		n.Gateway = sub.Addr().Next().String()
	}
	return n, nil
}

// parseCIDR accepts an IPv4 prefix and returns it masked, refusing one
// with host bits set (10.1.2.3/16), which is more likely a typo than meant.
func parseCIDR(flag, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad %s %q: want an IPv4 CIDR such as 10.10.0.0/24 (IPv6 is not supported yet)", flag, s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad %s %q: host bits are set; did you mean %s?", flag, s, p.Masked()))
	}
	return p, nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Create makes a network: its record, its bridge and its rules. An
// existing name fails with ErrAlreadyExists; a subnet that overlaps another
// network or a route of the host fails with ErrFailedPrecondition; either
// way nothing is left behind.
func (ns *Networks) Create(ctx context.Context, o CreateOptions) (*Network, error) {
	if err := ValidName(o.Name); err != nil {
		return nil, err
	}
	if o.Name == DefaultName {
		return nil, errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("network %q is lepton's default network and always exists: choose another name", o.Name))
	}
	n, err := parseOptions(o)
	if err != nil {
		return nil, err
	}
	if n, err = ns.create(ctx, n, false); err != nil {
		return nil, err
	}
	ns.publishEvent(ctx, "create", n, nil)
	return n, nil
}

// Default returns the default network, making it on first use.
func (ns *Networks) Default(ctx context.Context) (*Network, error) {
	if n, err := ns.Get(ctx, DefaultName); err == nil || !errdefs.IsNotFound(err) {
		return n, err
	}
	n, err := ns.create(ctx, &Network{Name: DefaultName, Driver: "bridge", CreatedAt: time.Now().UTC().Truncate(time.Second)}, true)
	if errdefs.IsAlreadyExists(err) {
		return ns.Get(ctx, DefaultName) // another lepton made it first
	}
	return n, err
}

func (ns *Networks) create(ctx context.Context, n *Network, isDefault bool) (*Network, error) {
	b := make([]byte, 32)
	rand.Read(b)
	n.ID = hex.EncodeToString(b)
	n.Bridge = "lp-" + n.ID[:12]
	err := ns.coll.Locked(ctx, n.Name, func(r *store.Record) error {
		if r.Exists() {
			if old, err := ns.read(r); err == nil && old.Creating {
				// Left by a create that was killed: we hold its lock.
				if err := rollBack(old, r); err != nil {
					return err
				}
			} else if isDefault {
				return errdefs.ErrAlreadyExists
			} else {
				return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("network %q already exists: remove it first, or choose another name", n.Name))
			}
		}
		return hostLocked(func() error {
			others, err := ns.all(ctx)
			if err != nil {
				return err
			}
			if err := pickSubnet(n, others); err != nil {
				return err
			}
			// Intent first: the record owns the bridge and rules before
			// they exist, so a kill at any step leaves an owner to find.
			n.Creating = true
			if err := writeNetwork(r, n); err != nil {
				return err
			}
			crash.Point("network-create-recorded")
			if err := setUpHost(n); err != nil {
				rollBack(n, r)
				return err
			}
			crash.Point("network-create-host")
			n.Creating = false
			if err := writeNetwork(r, n); err != nil {
				rollBack(n, r)
				return err
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

func writeNetwork(r *store.Record, n *Network) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return r.Write(b)
}

// rollBack undoes a network create, holding its record's lock.
func rollBack(n *Network, r *store.Record) error {
	if err := tearDownHost(n); err != nil {
		return fmt.Errorf("remove what a killed create of network %q left: %w", n.Name, err)
	}
	return r.Remove()
}

func (ns *Networks) read(r *store.Record) (*Network, error) {
	b, err := r.Data()
	if err != nil {
		return nil, err
	}
	return ns.decode(r.Key(), b)
}

// pickSubnet checks n's subnet against the other networks and the host's
// routes, or, when n has none, takes the first free one from docker's pools.
func pickSubnet(n *Network, others []*Network) error {
	// lepton's own networks first: they make the clearer message.
	var taken []takenPrefix
	for _, o := range others {
		if p, err := netip.ParsePrefix(o.Subnet); err == nil {
			taken = append(taken, takenPrefix{p, fmt.Sprintf("network %q", o.Name)})
		}
	}
	routes, err := hostPrefixes()
	if err != nil {
		return err
	}
	taken = append(taken, routes...)
	overlap := func(p netip.Prefix) *takenPrefix {
		for i := range taken {
			if taken[i].p.Overlaps(p) {
				return &taken[i]
			}
		}
		return nil
	}
	if n.Subnet != "" {
		p := netip.MustParsePrefix(n.Subnet)
		if t := overlap(p); t != nil {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("subnet %s overlaps %s of %s: choose another --subnet", p, t.p, t.what))
		}
		return nil
	}
	for _, p := range subnetPool() {
		if overlap(p) == nil {
			n.Subnet = p.String()
			n.Gateway = p.Addr().Next().String()
			return nil
		}
	}
	return errdefs.ErrFailedPrecondition.WithMessage("no free subnet left in 172.17.0.0/16-172.31.0.0/16 or 192.168.0.0/16: remove unused networks (lepton network prune) or give --subnet")
}

type takenPrefix struct {
	p    netip.Prefix
	what string
}

// subnetPool is docker's default address pool: 172.17-31.0.0/16, then
// 192.168.0.0/16 in /20s.
func subnetPool() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// Get finds a network by name, full ID or unique ID prefix.
func (ns *Networks) Get(ctx context.Context, ref string) (*Network, error) {
	if store.ValidateKey(ref) == nil {
		b, err := ns.coll.Get(ctx, ref)
		if err == nil {
			n, err := ns.decode(ref, b)
			if err != nil || !n.Creating {
				return n, err
			}
			return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such network: %s (it is being created, or its create was killed: lepton system check --repair)", text.Quote(ref)))
		}
		if !errdefs.IsNotFound(err) {
			return nil, err
		}
	}
	if len(ref) >= 3 && text.IsHex(ref) {
		all, err := ns.List(ctx)
		if err != nil {
			return nil, err
		}
		var found []*Network
		for _, n := range all {
			if strings.HasPrefix(n.ID, ref) {
				found = append(found, n)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("network ID prefix %q matches %d networks: give more of it", ref, len(found)))
		}
	}
	return nil, errdefs.ErrNotFound.WithMessage("no such network: " + text.Quote(ref))
}

// List returns every network, sorted by name. Networks still being made
// are not in it.
func (ns *Networks) List(ctx context.Context) ([]*Network, error) {
	all, err := ns.all(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, n := range all {
		if !n.Creating {
			out = append(out, n)
		}
	}
	return out, nil
}

// all is List with the networks being made, whose subnets are taken too.
func (ns *Networks) all(ctx context.Context) ([]*Network, error) {
	es, err := ns.coll.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Network, 0, len(es))
	for _, e := range es {
		n, err := ns.decode(e.Key, e.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (ns *Networks) decode(name string, b []byte) (*Network, error) {
	var n Network
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("network %q: damaged record in %s: %v", name, ns.coll.Dir(), err))
	}
	n.Name = name
	return &n, nil
}

// update runs fn on the named network under its lock and stores the result.
func (ns *Networks) update(ctx context.Context, name string, fn func(n *Network) error) error {
	return ns.coll.Locked(ctx, name, func(r *store.Record) error {
		b, err := r.Data()
		if errdefs.IsNotFound(err) {
			return errdefs.ErrNotFound.WithMessage("no such network: " + text.Quote(name))
		}
		if err != nil {
			return err
		}
		n, err := ns.decode(name, b)
		if err != nil {
			return err
		}
		if err := fn(n); err != nil {
			return err
		}
		if b, err = json.Marshal(n); err != nil {
			return err
		}
		return r.Write(b)
	})
}

// Remove deletes a network that no running container is on. The default
// network cannot be removed.
func (ns *Networks) Remove(ctx context.Context, ref string) error {
	n, err := ns.Get(ctx, ref)
	if err != nil {
		return err
	}
	if n.Name == DefaultName {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("network %q is lepton's default network and cannot be removed", n.Name))
	}
	return ns.remove(ctx, n.Name, false)
}

// RemoveAll deletes every network of the namespace, the default one and
// networks in use included, with their bridges and rules: for tests and
// for taking a data root apart.
func (ns *Networks) RemoveAll(ctx context.Context) error {
	all, err := ns.all(ctx)
	if err != nil {
		return err
	}
	for _, n := range all {
		if err := ns.remove(ctx, n.Name, true); err != nil {
			return err
		}
	}
	return nil
}

func (ns *Networks) remove(ctx context.Context, name string, force bool) error {
	var gone *Network
	err := ns.coll.Locked(ctx, name, func(r *store.Record) error {
		b, err := r.Data()
		if errdefs.IsNotFound(err) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		n, err := ns.decode(name, b)
		if err != nil {
			return err
		}
		if sweep(n, "") {
			if b, err := json.Marshal(n); err == nil {
				r.Write(b)
			}
		}
		if len(n.Endpoints) > 0 && !force {
			var users []string
			for _, e := range n.Endpoints {
				users = append(users, e.Name)
			}
			sort.Strings(users)
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("network %q is in use by running container(s) %s: stop them or disconnect them first (lepton network disconnect %s CONTAINER)", n.Name, strings.Join(users, ", "), n.Name))
		}
		for id := range n.Endpoints {
			deleteLink(n.Endpoints[id].Iface)
			deletePortRules(id)
		}
		if err := tearDownHost(n); err != nil {
			return fmt.Errorf("remove network %q: %w", n.Name, err)
		}
		// A kill here leaves a record without its bridge: rm again
		// finishes, and a join would make the bridge anew.
		crash.Point("network-rm-host")
		if err := r.Remove(); err != nil {
			return err
		}
		gone = n
		return nil
	})
	if err == nil && gone != nil {
		ns.publishEvent(ctx, "destroy", gone, nil)
	}
	return err
}

// ContainerEndpoints is where a container is: network name → endpoint.
func (ns *Networks) ContainerEndpoints(ctx context.Context, id string) (map[string]*Endpoint, error) {
	all, err := ns.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]*Endpoint{}
	for _, n := range all {
		if e := n.Endpoints[id]; e != nil {
			out[n.Name] = e
		}
	}
	return out, nil
}

// ParsePublish reads one -p: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO].
// Ranges (8000-8010:80-90) map port by port.
func ParsePublish(s string) ([]Port, error) {
	bad := func(why string) ([]Port, error) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad -p %q: %s (want [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp])", s, why))
	}
	spec, proto, _ := strings.Cut(s, "/")
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp":
	default:
		return bad("protocol " + strconv.Quote(proto) + " is not tcp or udp")
	}
	var hostIP, hostPorts, ctrPorts string
	if i := strings.LastIndex(spec, ":"); i < 0 {
		ctrPorts = spec
	} else {
		ctrPorts = spec[i+1:]
		rest := spec[:i]
		if j := strings.LastIndex(rest, ":"); j < 0 {
			hostPorts = rest
		} else {
			hostIP, hostPorts = rest[:j], rest[j+1:]
		}
	}
	if hostIP != "" {
		a, err := netip.ParseAddr(strings.Trim(hostIP, "[]"))
		if err != nil || !a.Is4() {
			return bad("host address " + strconv.Quote(hostIP) + " is not an IPv4 address")
		}
		if a.IsUnspecified() {
			hostIP = ""
		} else {
			hostIP = a.String()
		}
	}
	clo, chi, err := portRange(ctrPorts)
	if err != nil {
		return bad(err.Error())
	}
	hlo, hhi := 0, 0
	if hostPorts != "" {
		if hlo, hhi, err = portRange(hostPorts); err != nil {
			return bad(err.Error())
		}
		if hhi-hlo != chi-clo && hlo != hhi {
			return bad("the host and container port ranges differ in length")
		}
	}
	var out []Port
	for i := 0; i <= chi-clo; i++ {
		hp := 0
		if hlo != 0 {
			hp = hlo
			if hhi != hlo {
				hp = hlo + i
			}
			if hhi == hlo && chi != clo {
				return bad("a range of container ports needs a range of host ports, or none")
			}
		}
		out = append(out, Port{HostIP: hostIP, HostPort: hp, ContainerPort: clo + i, Proto: proto})
	}
	return out, nil
}

func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return 0, 0, fmt.Errorf("port %q is not a number from 1 to 65535", lo)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 {
		return 0, 0, fmt.Errorf("port range %q is not LOW-HIGH within 1-65535", s)
	}
	return a, b, nil
}

// ParseIP checks a --ip.
func ParseIP(s string) error {
	if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --ip %q: want an IPv4 address", s))
	}
	return nil
}
