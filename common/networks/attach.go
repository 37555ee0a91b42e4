package networks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/proc"
)

// Attach joins container id, whose task's first process is pid, to the
// networks of the Plan in its directory dir, and publishes its ports. A
// container without a Plan has no network to join. On failure nothing of
// it is left.
func (ns *Networks) Attach(ctx context.Context, id string, pid int, dir string) (err error) {
	p, err := ReadPlan(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// What a run that ended without its poststop hook left (a killed shim).
	if err := ns.Detach(ctx, id); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The task's process still lives: leave regardless of it.
			ns.detach(context.WithoutCancel(ctx), id, true)
		}
	}()
	nsFd, err := openNetns(pid)
	if err != nil {
		return err
	}
	defer closeFd(nsFd)
	for i, a := range p.Networks {
		ip, err := ns.join(ctx, id, pid, p, a, nsFd, fmt.Sprintf("eth%d", i), i == 0, dir)
		if err != nil {
			return err
		}
		if i == 0 && len(p.Ports) > 0 {
			if err := ns.publish(ctx, id, a.Network, ip, p.Ports); err != nil {
				return err
			}
		}
	}
	return nil
}

// Connect joins the running container id (task pid) to one more network
// and records it in its Plan, so later starts join it too.
func (ns *Networks) Connect(ctx context.Context, id string, pid int, dir string, a Attachment) error {
	if err := ns.connect(ctx, id, pid, dir, a); err != nil {
		return err
	}
	ns.publishEndpoint(ctx, "connect", a.Network, id)
	return nil
}

// publishEndpoint is docker's network connect or disconnect event of
// container id on network.
func (ns *Networks) publishEndpoint(ctx context.Context, action, network, id string) {
	if ns.events == nil {
		return
	}
	n, err := ns.Get(ctx, network)
	if err != nil {
		return
	}
	ns.publishEvent(ctx, action, n, map[string]string{"container": id})
}

func (ns *Networks) connect(ctx context.Context, id string, pid int, dir string, a Attachment) error {
	p, err := ReadPlan(dir)
	if err != nil {
		return fmt.Errorf("container %s has no network plan (made with --network none or host?): %w", id, err)
	}
	for _, have := range p.Networks {
		if have.Network == a.Network {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("container %s is already on network %q", p.Name, a.Network))
		}
	}
	if pid > 0 {
		nsFd, err := openNetns(pid)
		if err != nil {
			return err
		}
		defer closeFd(nsFd)
		name, err := freeIfname(nsFd)
		if err != nil {
			return err
		}
		if _, err := ns.join(ctx, id, pid, p, a, nsFd, name, false, dir); err != nil {
			ns.leave(context.WithoutCancel(ctx), id, a.Network)
			return err
		}
	}
	p.Networks = append(p.Networks, a)
	return WritePlan(dir, p)
}

// Disconnect takes container id off a network, now if it runs and for
// its later starts.
func (ns *Networks) Disconnect(ctx context.Context, id, dir, network string) error {
	p, err := ReadPlan(dir)
	if err != nil {
		return fmt.Errorf("container %s has no network plan: %w", id, err)
	}
	kept := p.Networks[:0]
	found := false
	for _, a := range p.Networks {
		if a.Network == network {
			found = true
			continue
		}
		kept = append(kept, a)
	}
	if !found {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container %s is not on network %q", p.Name, network))
	}
	p.Networks = kept
	if len(p.Networks) == 0 {
		p.Ports = nil // nothing left to publish them on
	}
	if err := WritePlan(dir, p); err != nil {
		return err
	}
	if err := ns.leave(ctx, id, network); err != nil {
		return err
	}
	ns.publishEndpoint(ctx, "disconnect", network, id)
	return nil
}

// join allocates an address for id on network a.Network, plugs a veth
// pair into nsFd as ifname, and rewrites the hosts files of the network's
// containers, all under the network's lock. It returns the address.
func (ns *Networks) join(ctx context.Context, id string, pid int, p *Plan, a Attachment, nsFd int, ifname string, first bool, dir string) (string, error) {
	if a.Network == DefaultName {
		if _, err := ns.Default(ctx); err != nil {
			return "", err
		}
	}
	var ip string
	err := ns.update(ctx, a.Network, func(n *Network) error {
		if n.Name == DefaultName && len(a.Aliases) > 0 {
			return errdefs.ErrInvalidArgument.WithMessage("network aliases need a user-defined network: the default network has no name resolution (lepton network create NAME, then --network NAME)")
		}
		if err := ensureHost(n); err != nil {
			return err
		}
		sweep(n, id)
		addr, err := allocate(n, a.IP)
		if err != nil {
			return err
		}
		e := &Endpoint{Name: p.Name, Aliases: a.Aliases, IP: addr.String(), Iface: vethName(id, n.ID), HostsFile: filepath.Join(dir, "hosts"),
			Pid: pid, PidStart: proc.Start(pid)}
		sub := netip.MustParsePrefix(n.Subnet)
		mac, err := addVeth(n, e.Iface, nsFd, ifname, a.MAC, netip.PrefixFrom(addr, sub.Bits()), first && !n.Internal)
		if err != nil {
			return fmt.Errorf("connect to network %q: %w", n.Name, err)
		}
		e.MAC = mac
		if n.Endpoints == nil {
			n.Endpoints = map[string]*Endpoint{}
		}
		n.Endpoints[id] = e
		n.LastIP = e.IP
		ip = e.IP
		ns.rewriteHosts(ctx, n, id)
		return nil
	})
	return ip, err
}

// leave takes id off one network; see Detach.
//
// The port rules go under the network's lock too, whether or not the
// endpoint recorded them (a process killed between adding and recording
// them): a newer task of the container publishes only after it has joined,
// which waits for this lock, so its rules are never the ones removed.
func (ns *Networks) leave(ctx context.Context, id, network string) error {
	err := ns.update(ctx, network, func(n *Network) error {
		e := n.Endpoints[id]
		if e == nil {
			return nil
		}
		delete(n.Endpoints, id)
		deleteLink(e.Iface)
		ns.rewriteHosts(ctx, n, "")
		return deletePortRules(id)
	})
	if errdefs.IsNotFound(err) {
		err = nil
	}
	return err
}

// Detach takes container id off every network once its task has ended:
// its addresses are freed, its veths, port mappings and hosts lines
// removed. An endpoint whose process still runs is a newer task's (one the
// restart monitor started) and stays. Detaching a container that is on no
// network does nothing.
func (ns *Networks) Detach(ctx context.Context, id string) error {
	return ns.detach(ctx, id, false)
}

func (ns *Networks) detach(ctx context.Context, id string, evenIfAlive bool) error {
	all, err := ns.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	found := false
	for _, n := range all {
		if e := n.Endpoints[id]; e != nil {
			if !evenIfAlive && e.Pid != 0 && proc.Alive(e.Pid, e.PidStart) {
				return nil
			}
			found = true
			errs = append(errs, ns.leave(ctx, id, n.Name))
		}
	}
	if !found {
		// Rules without any endpoint: a process killed before it recorded one.
		errs = append(errs, deletePortRules(id))
	}
	return errors.Join(errs...)
}

// publish maps p's ports to ip and records them on the endpoint.
func (ns *Networks) publish(ctx context.Context, id, network, ip string, want []Port) error {
	got, err := publishPorts(id, ip, want)
	if err != nil {
		return err
	}
	return ns.update(ctx, network, func(n *Network) error {
		if e := n.Endpoints[id]; e != nil {
			e.Ports = got
		}
		return nil
	})
}

// sweep drops the endpoints, other than except's, whose task has ended
// without leaving: a detached container that exited on its own, with no
// lepton there to see it. Their addresses, veths, ports and hosts lines go.
func sweep(n *Network, except string) bool {
	swept := false
	for id, e := range n.Endpoints {
		if id == except || e.Pid == 0 || proc.Alive(e.Pid, e.PidStart) {
			continue
		}
		delete(n.Endpoints, id)
		deleteLink(e.Iface)
		deletePortRules(id)
		swept = true
	}
	return swept
}

// allocate takes want if it is free, or the next free address after the
// last one given out, within the network's --ip-range if it has one.
func allocate(n *Network, want string) (netip.Addr, error) {
	sub := netip.MustParsePrefix(n.Subnet)
	gw, _ := netip.ParseAddr(n.Gateway)
	used := map[netip.Addr]bool{gw: true, sub.Addr(): true, broadcast(sub): true}
	for _, e := range n.Endpoints {
		if a, err := netip.ParseAddr(e.IP); err == nil {
			used[a] = true
		}
	}
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !sub.Contains(a) {
			return netip.Addr{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--ip %s is not in network %q's subnet %s", want, n.Name, n.Subnet))
		}
		if used[a] {
			return netip.Addr{}, errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("address %s on network %q is taken (the gateway, or another container): choose another --ip", a, n.Name))
		}
		return a, nil
	}
	pool := sub
	if n.IPRange != "" {
		pool = netip.MustParsePrefix(n.IPRange)
	}
	first, last := pool.Addr(), broadcast(pool)
	start := first
	if a, err := netip.ParseAddr(n.LastIP); err == nil && pool.Contains(a) && a != last {
		start = a.Next()
	}
	a := start
	for {
		if !used[a] {
			return a, nil
		}
		if a = a.Next(); a == last.Next() || !a.IsValid() {
			a = first
		}
		if a == start {
			return netip.Addr{}, errdefs.ErrResourceExhausted.WithMessage(fmt.Sprintf("network %q has no free address left in %s", n.Name, pool))
		}
	}
}

// vethName is the host side of id's veth on network netID: unique per
// pair, and within the kernel's 15 bytes.
func vethName(id, netID string) string {
	h := sha256.Sum256([]byte(id + "/" + netID))
	return "lv" + hex.EncodeToString(h[:])[:10]
}

// rewriteHosts writes /etc/hosts of every container on n, as n now is,
// after joined joined it (if not ""). On the default network, where
// containers do not see each other's names, only joined's own file changes.
// Run under n's lock: a container on several networks reads the others
// as they are stored, and its file lock orders the writers.
func (ns *Networks) rewriteHosts(ctx context.Context, n *Network, joined string) {
	for id, e := range n.Endpoints {
		if e.HostsFile == "" || n.Name == DefaultName && id != joined {
			continue
		}
		p, err := ReadPlan(filepath.Dir(e.HostsFile))
		if err != nil {
			continue
		}
		writeHosts(e.HostsFile, func() string {
			var b strings.Builder
			b.WriteString(p.HostsBase)
			for _, a := range p.Networks {
				on := n
				if a.Network != n.Name {
					var err error
					if on, err = ns.Get(ctx, a.Network); err != nil {
						continue
					}
				}
				hostsLines(&b, on, id, p.Hostname)
			}
			return b.String()
		})
	}
}

// hostsLines adds a container's own address on n and, on user networks,
// its peers' names and aliases.
func hostsLines(b *strings.Builder, n *Network, self, hostname string) {
	me := n.Endpoints[self]
	if me == nil {
		return
	}
	names := []string{hostname}
	if n.Name != DefaultName {
		names = appendNew(names, me.Name)
		names = appendNew(names, me.Aliases...)
	}
	fmt.Fprintf(b, "%s\t%s\n", me.IP, strings.Join(names, " "))
	if n.Name == DefaultName {
		return
	}
	ids := make([]string, 0, len(n.Endpoints))
	for id := range n.Endpoints {
		if id != self {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := n.Endpoints[id]
		fmt.Fprintf(b, "%s\t%s\n", e.IP, strings.Join(appendNew([]string{e.Name}, e.Aliases...), " "))
	}
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		dup := m == ""
		for _, l := range list {
			dup = dup || l == m
		}
		if !dup {
			list = append(list, m)
		}
	}
	return list
}
