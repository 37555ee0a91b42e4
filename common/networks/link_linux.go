package networks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// hostLockPath orders host-wide choices (subnets, host ports) among every
// lepton on the machine, whatever its data root.
const hostLockPath = "/run/lepton/network.lock"

func hostLocked(fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(hostLockPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(hostLockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // closing drops the lock, also when the process dies
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", hostLockPath, err)
	}
	return fn()
}

// setUpHost makes n's bridge with its gateway address, and its rules.
func setUpHost(n *Network) error {
	if away() {
		return inBase(func() error { return setUpHost(n) })
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create bridge %s: %w (lepton needs root, or CAP_NET_ADMIN, for bridge networks)", n.Bridge, err)
	}
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
	}
	sub := netip.MustParsePrefix(n.Subnet)
	gw := netip.MustParseAddr(n.Gateway)
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(sub.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("give bridge %s the address %s: %w", n.Bridge, gw, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring bridge %s up: %w", n.Bridge, err)
	}
	// Published ports answer on 127.0.0.1 too: the DNAT of a loopback
	// address must be routable out of the bridge.
	if err := sysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
		return err
	}
	if !n.Internal {
		// As docker does: without forwarding nothing leaves a bridge.
		if err := sysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
	}
	return addNetworkRules(n)
}

// ensureHost remakes n's bridge and rules if they are gone (a reboot).
func ensureHost(n *Network) error {
	if away() {
		return inBase(func() error { return ensureHost(n) })
	}
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		if l.Attrs().Flags&net.FlagUp == 0 {
			return netlink.LinkSetUp(l)
		}
		return nil
	}
	return setUpHost(n)
}

// tearDownHost removes n's rules and bridge; what is already gone is fine.
func tearDownHost(n *Network) error {
	if away() {
		return inBase(func() error { return tearDownHost(n) })
	}
	err := deleteRules(ownerNetwork(n.ID))
	if l, lerr := netlink.LinkByName(n.Bridge); lerr == nil {
		if lerr := netlink.LinkDel(l); lerr != nil && err == nil {
			err = fmt.Errorf("delete bridge %s: %w", n.Bridge, lerr)
		}
	}
	return err
}

func sysctl(key, value string) error {
	p := "/proc/sys/" + key
	if b, err := os.ReadFile(p); err == nil && string(b) == value+"\n" {
		return nil
	}
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s to %s: %w", p, value, err)
	}
	return nil
}

// hostPrefixes are the host's routed prefixes, which a new network's subnet
// must not overlap.
func hostPrefixes() (out []takenPrefix, err error) {
	if away() {
		err = inBase(func() (e error) { out, e = hostPrefixes(); return e })
		return out, err
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list the host's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok || ones == 0 {
			continue
		}
		dev := "the host"
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = "the host's route on " + l.Attrs().Name
		}
		out = append(out, takenPrefix{netip.PrefixFrom(a, ones), dev})
	}
	return out, nil
}

// addVeth plugs a veth pair into n's bridge, its other end into the
// network namespace nsFd as ifname with addr (and the MAC address mac, if
// not ""), and, if defaultRoute, a default route through the gateway. It
// returns the inside end's MAC.
func addVeth(n *Network, host string, nsFd int, ifname, mac string, addr netip.Prefix, defaultRoute bool) (inMAC string, err error) {
	if away() {
		err = inBase(func() (e error) { inMAC, e = addVeth(n, host, nsFd, ifname, mac, addr, defaultRoute); return e })
		return inMAC, err
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return "", fmt.Errorf("find bridge %s: %w", n.Bridge, err)
	}
	deleteLink(host) // a leftover of a killed hook
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:      ifname,
		PeerNamespace: netlink.NsFd(nsFd),
	}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			return "", fmt.Errorf("MAC address %q: %w", mac, err)
		}
		veth.PeerHardwareAddr = hw
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return "", fmt.Errorf("create veth %s: %w", host, err)
	}
	ok := false
	defer func() {
		if !ok {
			deleteLink(host)
		}
	}()
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return "", err
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return "", fmt.Errorf("bring %s up: %w", host, err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(nsFd))
	if err != nil {
		return "", fmt.Errorf("enter the container's network namespace: %w", err)
	}
	defer h.Close()
	in, err := h.LinkByName(ifname)
	if err != nil {
		return "", fmt.Errorf("find %s in the container: %w", ifname, err)
	}
	ipnet := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(in, &netlink.Addr{IPNet: ipnet}); err != nil {
		return "", fmt.Errorf("give %s the address %s: %w", ifname, addr, err)
	}
	if err := h.LinkSetUp(in); err != nil {
		return "", fmt.Errorf("bring %s up in the container: %w", ifname, err)
	}
	if defaultRoute {
		gw := netip.MustParseAddr(n.Gateway)
		if err := h.RouteAdd(&netlink.Route{LinkIndex: in.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
			return "", fmt.Errorf("add the default route via %s: %w", gw, err)
		}
	}
	ok = true
	return in.Attrs().HardwareAddr.String(), nil
}

// deleteLink removes a host interface if it exists.
func deleteLink(name string) {
	if away() {
		inBase(func() error { deleteLink(name); return nil })
		return
	}
	if name == "" {
		return
	}
	if l, err := netlink.LinkByName(name); err == nil {
		netlink.LinkDel(l)
	}
}

func openNetns(pid int) (int, error) {
	p := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open the container's network namespace %s: %w", p, err)
	}
	return fd, nil
}

func closeFd(fd int) { unix.Close(fd) }

// freeIfname is the first ethN not in use in the namespace nsFd.
func freeIfname(nsFd int) (string, error) {
	h, err := netlink.NewHandleAt(netns.NsHandle(nsFd))
	if err != nil {
		return "", err
	}
	defer h.Close()
	for i := 0; ; i++ {
		name := "eth" + strconv.Itoa(i)
		if _, err := h.LinkByName(name); err != nil {
			return name, nil
		}
	}
}

// writeHosts rewrites a bind-mounted /etc/hosts in place: a rename would
// leave the container looking at the old file. The file lock orders
// writers; one write call keeps readers from seeing much of a mix.
func writeHosts(path string, content func() string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	b := []byte(content())
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}
