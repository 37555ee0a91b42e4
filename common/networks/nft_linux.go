package networks

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/crash"
)

// lepton's rules live in their own table, so they never touch another
// tool's; every rule names its owner in its user data.
var (
	nftTable = &nftables.Table{Name: "lepton", Family: nftables.TableFamilyIPv4}
	chPre    = &nftables.Chain{Name: "prerouting", Table: nftTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	chOut    = &nftables.Chain{Name: "output", Table: nftTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	chPost   = &nftables.Chain{Name: "postrouting", Table: nftTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
	chFwd    = &nftables.Chain{Name: "forward", Table: nftTable, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
)

func ownerNetwork(id string) string { return "lepton:n:" + id }

func ownerPorts(id string) string { return "lepton:p:" + id + ":" }

// ensureTable queues the table and chains; adding them again is harmless.
func ensureTable(c *nftables.Conn) {
	c.AddTable(nftTable)
	for _, ch := range []*nftables.Chain{chPre, chOut, chPost, chFwd} {
		c.AddChain(ch)
	}
}

func nftConn() (*nftables.Conn, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	return c, nil
}

// addNetworkRules adds n's NAT and isolation rules:
//   - ip saddr SUBNET oifname != BRIDGE masquerade (not internal)
//   - ip saddr 127.0.0.0/8 oifname BRIDGE masquerade (ports on localhost)
//   - iifname BRIDGE oifname != BRIDGE oifname "lp-*" drop (other networks)
//   - internal: nothing in or out of the bridge but its own traffic.
func addNetworkRules(n *Network) error {
	c, err := nftConn()
	if err != nil {
		return err
	}
	ensureTable(c)
	ud := []byte(ownerNetwork(n.ID))
	br := ifname(n.Bridge)
	add := func(ch *nftables.Chain, ex ...[]expr.Any) {
		var all []expr.Any
		for _, e := range ex {
			all = append(all, e...)
		}
		c.AddRule(&nftables.Rule{Table: nftTable, Chain: ch, Exprs: all, UserData: ud})
	}
	drop := []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
	if n.Internal {
		add(chFwd, meta(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), meta(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br), drop)
		add(chFwd, meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), meta(expr.MetaKeyIIFNAME, expr.CmpOpNeq, br), drop)
	} else {
		add(chPost, saddrIn(netip.MustParsePrefix(n.Subnet)), meta(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br), []expr.Any{&expr.Masq{}})
		add(chPost, saddrIn(netip.MustParsePrefix("127.0.0.0/8")), meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), []expr.Any{&expr.Masq{}})
		add(chFwd, meta(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), meta(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br), meta(expr.MetaKeyOIFNAME, expr.CmpOpEq, []byte("lp-")), drop)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add nftables rules of network %q: %w", n.Name, err)
	}
	return nil
}

// deleteRules removes every rule whose owner starts with prefix. Another
// lepton deleting the same rule makes the batch fail, so it looks again.
func deleteRules(prefix string, chains ...*nftables.Chain) error {
	if len(chains) == 0 {
		chains = []*nftables.Chain{chPre, chOut, chPost, chFwd}
	}
	var err error
	for try := 0; try < 5; try++ {
		var c *nftables.Conn
		if c, err = nftConn(); err != nil {
			return err
		}
		n := 0
		for _, ch := range chains {
			rules, lerr := c.GetRules(nftTable, ch)
			if lerr != nil {
				continue // no table or chain: nothing of ours
			}
			for _, r := range rules {
				if strings.HasPrefix(string(r.UserData), prefix) {
					c.DelRule(r)
					n++
				}
			}
		}
		if n == 0 {
			return nil
		}
		if err = c.Flush(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("delete nftables rules of %s: %w", strings.TrimSuffix(prefix, ":"), err)
}

// deletePortRules removes container id's port rules, and first the
// ports rootlesskit forwards for them (rootless mode).
func deletePortRules(id string) error {
	if away() {
		return inBase(func() error { return deletePortRules(id) })
	}
	if c, err := nftConn(); err == nil {
		unforward(c, id)
	}
	return deleteRules(ownerPorts(id), chPre, chOut)
}

// published is a port mapping found in the rules.
type published struct {
	owner, proto, hostIP string
	port                 int
	toIP                 string // where the rule forwards to
	toPort               int
}

// publishedPorts reads the port mappings of every lepton on the host.
func publishedPorts(c *nftables.Conn) []published {
	rules, err := c.GetRules(nftTable, chPre)
	if err != nil {
		return nil
	}
	var out []published
	for _, r := range rules {
		rest, ok := strings.CutPrefix(string(r.UserData), "lepton:p:")
		if !ok {
			continue
		}
		f := strings.Split(rest, ":")
		if len(f) != 4 {
			continue
		}
		port, _ := strconv.Atoi(f[3])
		toIP, toPort := dnatTarget(r)
		out = append(out, published{owner: f[0], proto: f[1], hostIP: f[2], port: port, toIP: toIP, toPort: toPort})
	}
	return out
}

// checkPort says why p cannot be published for container id, if it can't.
func checkPort(taken []published, id string, p Port) error {
	for _, t := range taken {
		if t.owner != id && t.proto == p.Proto && t.port == p.HostPort && (t.hostIP == p.HostIP || t.hostIP == "" || p.HostIP == "") {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("cannot publish %s: host port %d/%s is already published by container %s; choose another host port, or give only the container port for a free one", p, p.HostPort, p.Proto, short(t.owner)))
		}
	}
	if err := tryBind(p.Proto, p.HostIP, p.HostPort); err != nil {
		return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("cannot publish %s: host port %d/%s is in use on the host (%v); choose another host port", p, p.HostPort, p.Proto, err))
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// tryBind binds the port for a moment: a program listening there would
// otherwise lose its traffic to the container without a word. Port 0 asks
// the kernel for a free one, which is returned.
func tryBind(proto, ip string, port int) error {
	_, err := bindFree(proto, ip, port)
	return err
}

func bindFree(proto, ip string, port int) (int, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		l, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CheckPorts says, before a container is made, whether its ports could be
// published now; the hook checks again when it publishes them.
func CheckPorts(ports []Port) error {
	if away() {
		return inBase(func() error { return CheckPorts(ports) })
	}
	c, err := nftConn()
	if err != nil {
		return err
	}
	taken := publishedPorts(c)
	seen := map[string]bool{}
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		k := fmt.Sprintf("%s/%d", p.Proto, p.HostPort)
		if seen[k] {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("host port %d/%s is published twice", p.HostPort, p.Proto))
		}
		seen[k] = true
		if err := checkPort(taken, "", p); err != nil {
			return err
		}
	}
	return nil
}

// publishPorts DNATs want to ip for container id, picking free host ports
// where none is given, and returns the mappings made.
func publishPorts(id, ip string, want []Port) (got []Port, err error) {
	if away() {
		err = inBase(func() (e error) { got, e = publishPorts(id, ip, want); return e })
		return got, err
	}
	to := netip.MustParseAddr(ip)
	err = hostLocked(func() error {
		c, err := nftConn()
		if err != nil {
			return err
		}
		taken := publishedPorts(c)
		for _, p := range want {
			if p.HostPort == 0 {
				for tries := 0; ; tries++ {
					if p.HostPort, err = bindFree(p.Proto, p.HostIP, 0); err != nil {
						return fmt.Errorf("find a free host port for %d/%s: %w", p.ContainerPort, p.Proto, err)
					}
					if checkPort(taken, id, p) == nil || tries > 20 {
						break
					}
				}
			}
			if err := checkPort(taken, id, p); err != nil {
				return err
			}
			taken = append(taken, published{owner: id, proto: p.Proto, hostIP: p.HostIP, port: p.HostPort})
			got = append(got, p)
		}
		ensureTable(c)
		for _, p := range got {
			ud := []byte(fmt.Sprintf("%s%s:%s:%d", ownerPorts(id), p.Proto, p.HostIP, p.HostPort))
			for _, ch := range []*nftables.Chain{chPre, chOut} {
				c.AddRule(&nftables.Rule{Table: nftTable, Chain: ch, Exprs: dnat(p, to), UserData: ud})
			}
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("add nftables rules for published ports: %w", err)
		}
		// A kill here leaves rules rootlesskit does not forward yet: check
		// reports them as missing forwards.
		crash.Point("publish-rules-added")
		if err := forward(id, to, got); err != nil {
			deleteRules(ownerPorts(id), chPre, chOut)
			return err
		}
		return nil
	})
	return got, err
}

// dnat: [ip daddr HOSTIP] fib daddr type local meta l4proto PROTO
// th dport HOSTPORT dnat to IP:PORT
func dnat(p Port, to netip.Addr) []expr.Any {
	var ex []expr.Any
	if p.HostIP != "" {
		ex = append(ex,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: netip.MustParseAddr(p.HostIP).AsSlice()})
	}
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	return append(ex,
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(p.HostPort))},
		&expr.Counter{},
		&expr.Immediate{Register: 1, Data: to.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(uint16(p.ContainerPort))},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}

func saddrIn(p netip.Prefix) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: net.CIDRMask(p.Bits(), 32), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

func meta(key expr.MetaKey, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: data}}
}

// ifname is an interface name as the kernel compares it: IFNAMSIZ bytes.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// RuleOwners lists the owners of lepton's nftables rules on this host,
// one per rule: for tests that look for leaks.
func RuleOwners() (out []string, err error) {
	if away() {
		err = inBase(func() (e error) { out, e = RuleOwners(); return e })
		return out, err
	}
	c, err := nftConn()
	if err != nil {
		return nil, err
	}
	for _, ch := range []*nftables.Chain{chPre, chOut, chPost, chFwd} {
		rules, err := c.GetRules(nftTable, ch)
		if err != nil {
			continue // no table yet: no rules
		}
		for _, r := range rules {
			out = append(out, ch.Name+" "+string(r.UserData))
		}
	}
	return out, nil
}
