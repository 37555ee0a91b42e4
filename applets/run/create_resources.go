//go:build !windows

package run

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	units "github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// resourceFlags are run and create's cgroup, device, kernel and security
// options.
type resourceFlags struct {
	CPUShares         int64    `short:"c" long:"cpu-shares" value-name:"<N>" description:"Relative CPU weight, 2 to 262144 (default 1024)"`
	CpusetCpus        string   `long:"cpuset-cpus" value-name:"<LIST>" description:"CPUs the container may run on (e.g. 0-2,4)"`
	CpusetMems        string   `long:"cpuset-mems" value-name:"<LIST>" description:"Memory nodes the container may use (e.g. 0)"`
	MemorySwap        swapSize `long:"memory-swap" value-name:"<BYTES>" description:"Memory plus swap limit, at least --memory; -1 for unlimited swap"`
	MemoryReservation string   `long:"memory-reservation" value-name:"<BYTES>" description:"Soft memory limit, at most --memory"`
	OomKillDisable    bool     `long:"oom-kill-disable" description:"Do not let the OOM killer kill the container's processes (cgroup v1)"`
	BlkioWeight       int64    `long:"blkio-weight" value-name:"<N>" description:"Relative block I/O weight, 10 to 1000"`
	CgroupParent      string   `long:"cgroup-parent" value-name:"<PATH>" description:"Cgroup to make the container's cgroup in"`
	Cgroupns          string   `long:"cgroupns" value-name:"<MODE>" description:"Cgroup namespace: host or private (default: private on cgroup v2, host on v1)"`
	Devices           []string `long:"device" value-name:"<HOST[:CONTAINER][:PERMS]>" description:"Add a host device (PERMS some of rwm, default rwm)"`
	DeviceCgroupRules []string `long:"device-cgroup-rule" value-name:"<RULE>" description:"Allow devices in the device cgroup, as 'c 1:3 mr' (TYPE MAJOR:MINOR ACCESS)"`
	GroupAdd          []string `long:"group-add" value-name:"<GROUP>" description:"Add a supplementary group: a GID or a name in the container's /etc/group"`
	Sysctls           []string `long:"sysctl" value-name:"<KEY=VALUE>" description:"Set a namespaced kernel parameter (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)"`
	Domainname        string   `long:"domainname" value-name:"<NAME>" description:"Container NIS domain name"`
	MacAddress        string   `long:"mac-address" value-name:"<MAC>" description:"MAC address of eth0 on a bridge network"`
	Expose            []string `long:"expose" value-name:"<PORT[/PROTO]>" description:"Expose a port or a range (PORT-PORT) without publishing it; -P publishes it"`
	DNSSearch         []string `long:"dns-search" value-name:"<DOMAIN>" description:"Search domain for /etc/resolv.conf (. for none)"`
	DNSOptions        []string `long:"dns-option" value-name:"<OPT>" description:"Resolver option for /etc/resolv.conf (e.g. ndots:2)"`
	DNSOpt            []string `long:"dns-opt" hidden:"true" value-name:"<OPT>" description:"Old name of --dns-option"`
	Net               string   `long:"net" hidden:"true" value-name:"<NETWORK>" description:"Old name of --network"`
	netMerged         string   // --network as given, when --net is merged into it
	Link              []string `long:"link" value-name:"<NAME[:ALIAS]>" description:"Not supported: put the containers on a user-defined network instead"`
}

// plan checks the options and sets them on p. It runs once the rest of
// the plan is made: --net replaces the network parsePlan planned, and
// --security-opt is checked here from p.HostConfig.SecurityOpt.
func (f *resourceFlags) plan(p *containers.Plan) error {
	hc := &p.HostConfig
	if len(f.Link) > 0 {
		return cli.Usagef("--link is not supported: put the containers on a user-defined network instead (lepton network create NET, then --network NET on each); there they reach each other by name")
	}
	if err := checkNet(f); err != nil {
		return err
	}
	if err := f.planCgroups(p); err != nil {
		return err
	}
	for _, d := range f.Devices {
		m, err := parseDevice(d)
		if err != nil {
			return err
		}
		hc.Devices = append(hc.Devices, m)
	}
	for _, r := range f.DeviceCgroupRules {
		if _, err := containers.ParseDeviceCgroupRule(r); err != nil {
			return cli.Usagef("bad --device-cgroup-rule: %s", err)
		}
		hc.DeviceCgroupRules = append(hc.DeviceCgroupRules, r)
	}
	for _, g := range f.GroupAdd {
		if !validGroup(g) {
			return cli.Usagef("bad --group-add %q: want a GID or a group name", g)
		}
		hc.GroupAdd = append(hc.GroupAdd, g)
	}
	for _, kv := range f.Sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsFunc(k, func(r rune) bool { return !(r < 128 && (isAlnum(byte(r)) || strings.ContainsRune("._-", r))) }) {
			return cli.Usagef("bad --sysctl %q: want KEY=VALUE, such as net.ipv4.ip_forward=1", kv)
		}
		if strings.ContainsFunc(v, unicode.IsControl) {
			return cli.Usagef("bad --sysctl %q: the value holds a control character", kv)
		}
		if err := containers.CheckSysctl(k, hc.NetworkMode); err != nil {
			return cli.Usagef("bad --sysctl %q: %s", kv, err)
		}
		if hc.Sysctls == nil {
			hc.Sysctls = map[string]string{}
		}
		hc.Sysctls[k] = v
	}
	if f.Domainname != "" {
		if len(f.Domainname) > 64 || strings.ContainsFunc(f.Domainname, func(r rune) bool { return !(r < 128 && (isAlnum(byte(r)) || r == '.' || r == '-' || r == '_')) }) {
			return cli.Usagef("bad --domainname %q: want up to 64 of [a-zA-Z0-9.-_]", f.Domainname)
		}
		p.Domainname = f.Domainname
	}
	for _, e := range f.Expose {
		ports, err := networks.ParsePublish(e)
		if err != nil || strings.Contains(e, ":") {
			return cli.Usagef("bad --expose %q: want PORT, PORT-PORT, PORT/udp, ... (a container port, not a mapping: that is -p)", e)
		}
		if p.ExposedPorts == nil {
			p.ExposedPorts = map[string]struct{}{}
		}
		for _, pt := range ports {
			p.ExposedPorts[fmt.Sprintf("%d/%s", pt.ContainerPort, pt.Proto)] = struct{}{}
		}
	}
	for _, d := range f.DNSSearch {
		if d != "." && !validDomain(strings.TrimSuffix(d, ".")) {
			return cli.Usagef("bad --dns-search %q: want a domain name, such as example.com (or . for none)", d)
		}
		hc.DNSSearch = append(hc.DNSSearch, d)
	}
	for _, o := range append(append([]string{}, f.DNSOptions...), f.DNSOpt...) {
		if o == "" || strings.ContainsFunc(o, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return cli.Usagef("bad --dns-option %q: want one resolver option, such as ndots:2", o)
		}
		hc.DNSOptions = append(hc.DNSOptions, o)
	}
	if f.MacAddress != "" {
		hw, err := net.ParseMAC(f.MacAddress)
		switch {
		case err != nil || len(hw) != 6:
			return cli.Usagef("bad --mac-address %q: want six bytes, such as 02:42:ac:11:00:02", f.MacAddress)
		case hw[0]&1 != 0 || hw.String() == "00:00:00:00:00:00":
			return cli.Usagef("bad --mac-address %q: a multicast or zero address cannot be an interface's (the first byte must be even, such as 02)", f.MacAddress)
		case p.Network == nil:
			return cli.Usagef("--mac-address needs a bridge network, not --network %s", hc.NetworkMode)
		}
		p.MacAddress = hw.String()
		p.Network.Networks[0].MAC = p.MacAddress
	}
	if err := containers.CheckSecurityOpts(hc); err != nil {
		return cli.Usagef("%s", err)
	}
	return nil
}

// checkNet refuses --net beside a different --network: parsePlan has
// already taken --net for --network's old name.
func checkNet(f *resourceFlags) error {
	if f.Net != "" && f.netMerged != "" && f.netMerged != f.Net {
		return cli.Usagef("--net is --network's old name: give one of them")
	}
	return nil
}

// planCgroups checks the cgroup options: docker's ranges and rules.
func (f *resourceFlags) planCgroups(p *containers.Plan) error {
	hc := &p.HostConfig
	if f.CPUShares != 0 && (f.CPUShares < 2 || f.CPUShares > 262144) {
		return cli.Usagef("bad --cpu-shares %d: the range is 2 to 262144 (1024 is the default weight)", f.CPUShares)
	}
	hc.CPUShares = f.CPUShares
	if f.CpusetCpus != "" {
		if err := containers.CheckCpusetCpus(f.CpusetCpus); err != nil {
			return cli.Usagef("%s", err)
		}
	}
	if f.CpusetMems != "" {
		if err := containers.CheckCpusetMems(f.CpusetMems); err != nil {
			return cli.Usagef("%s", err)
		}
	}
	hc.CpusetCpus, hc.CpusetMems = f.CpusetCpus, f.CpusetMems
	if f.MemorySwap != "" {
		swap := int64(-1)
		if f.MemorySwap != "-1" {
			var err error
			if swap, err = units.RAMInBytes(string(f.MemorySwap)); err != nil || swap < 0 {
				return cli.Usagef("bad --memory-swap %q: want a size such as 512m, or -1 for unlimited swap", f.MemorySwap)
			}
		}
		switch {
		case swap == 0:
		case hc.Memory == 0:
			return cli.Usagef("--memory-swap needs --memory: it limits memory plus swap, so set the memory limit as well")
		case swap > 0 && swap < hc.Memory:
			return cli.Usagef("bad --memory-swap %q: it is memory plus swap, so it must be at least --memory (%d bytes); -1 for unlimited swap", f.MemorySwap, hc.Memory)
		}
		hc.MemorySwap = swap
	}
	if f.MemoryReservation != "" {
		r, err := units.RAMInBytes(f.MemoryReservation)
		switch {
		case err != nil || r < 0:
			return cli.Usagef("bad --memory-reservation %q: want a size such as 128m", f.MemoryReservation)
		case r > 0 && r < 6*1024*1024:
			return cli.Usagef("bad --memory-reservation %q: the smallest is 6m", f.MemoryReservation)
		case hc.Memory > 0 && r > hc.Memory:
			return cli.Usagef("bad --memory-reservation %q: a soft limit above --memory (%d bytes) would never apply", f.MemoryReservation, hc.Memory)
		}
		hc.MemoryReservation = r
	}
	hc.OomKillDisable = f.OomKillDisable
	if f.BlkioWeight != 0 && (f.BlkioWeight < 10 || f.BlkioWeight > 1000) {
		return cli.Usagef("bad --blkio-weight %d: the range is 10 to 1000", f.BlkioWeight)
	}
	hc.BlkioWeight = uint16(f.BlkioWeight)
	if c := f.CgroupParent; c != "" {
		clean := filepath.Clean(c)
		if strings.ContainsFunc(c, func(r rune) bool { return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) }) ||
			clean == "/" || clean == "." || strings.HasPrefix(strings.TrimPrefix(clean, "/"), "..") {
			return cli.Usagef("bad --cgroup-parent %q: want a cgroup path such as /lepton or batch/low", c)
		}
		hc.CgroupParent = c
	}
	switch f.Cgroupns {
	case "", "host", "private":
		hc.CgroupnsMode = f.Cgroupns
	default:
		return cli.Usagef("bad --cgroupns %q: want host or private", f.Cgroupns)
	}
	return nil
}

// swapSize is --memory-swap's value: a size, or -1, which go-flags would
// otherwise take for an option (docker's "--memory-swap -1").
type swapSize string

func (swapSize) IsValidValue(arg string) error {
	if arg != "-1" && strings.HasPrefix(arg, "-") {
		return fmt.Errorf("expected argument for flag `--memory-swap', but got option `%s'", arg)
	}
	return nil
}

// parseDevice reads a --device: HOST[:CONTAINER][:PERMS], as docker does.
func parseDevice(s string) (containers.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	m := containers.DeviceMapping{CgroupPermissions: "rwm"}
	switch len(parts) {
	case 3:
		m.PathOnHost, m.PathInContainer, m.CgroupPermissions = parts[0], parts[1], parts[2]
	case 2:
		m.PathOnHost = parts[0]
		if containers.ValidDeviceAccess(parts[1]) {
			m.CgroupPermissions = parts[1]
		} else {
			m.PathInContainer = parts[1]
		}
	case 1:
		m.PathOnHost = parts[0]
	default:
		return m, cli.Usagef("bad --device %q: want HOST[:CONTAINER][:PERMS], such as /dev/fuse or /dev/sdb:/dev/xvdc:r", s)
	}
	if m.PathInContainer == "" {
		m.PathInContainer = m.PathOnHost
	}
	switch {
	case !containers.ValidDeviceAccess(m.CgroupPermissions):
		return m, cli.Usagef("bad --device %q: the permissions are some of r, w and m", s)
	case !filepath.IsAbs(m.PathOnHost) || !filepath.IsAbs(m.PathInContainer):
		return m, cli.Usagef("bad --device %q: both paths must be absolute", s)
	}
	if _, err := os.Stat(m.PathOnHost); err != nil {
		return m, cli.Usagef("bad --device %q: %v", s, err)
	}
	return m, nil
}

// validGroup says whether g is a GID or a plausible group name.
func validGroup(g string) bool {
	if _, err := strconv.ParseUint(g, 10, 32); err == nil {
		return true
	}
	return g != "" && len(g) <= 256 && g[0] != '-' && !strings.ContainsFunc(g, func(r rune) bool {
		return !(r < 128 && (isAlnum(byte(r)) || strings.ContainsRune("._-$", r)))
	})
}

// validDomain says whether d is a domain name (labels of letters, digits
// and hyphens, not starting or ending with one).
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.ContainsFunc(l, func(r rune) bool { return !(r < 128 && (isAlnum(byte(r)) || r == '-' || r == '_')) }) {
			return false
		}
	}
	return true
}
