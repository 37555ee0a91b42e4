//go:build !windows

package run

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// netIndex is every endpoint of the namespace's networks by container ID,
// read once per command so ps over many containers reads each network once.
type netIndex map[string][]netAt

type netAt struct {
	net *networks.Network
	ep  *networks.Endpoint
}

func readNetIndex(ctx context.Context, nets *networks.Networks) netIndex {
	idx := netIndex{}
	all, err := nets.List(ctx)
	if err != nil {
		return idx
	}
	for _, n := range all {
		for id, e := range n.Endpoints {
			idx[id] = append(idx[id], netAt{n, e})
		}
	}
	return idx
}

// ports are a container's published ports, sorted as docker sorts them.
func (idx netIndex) ports(id string) []networks.Port {
	var out []networks.Port
	for _, at := range idx[id] {
		out = append(out, at.ep.Ports...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Proto < out[j].Proto
	})
	return out
}

func (idx netIndex) portsText(id string) string {
	var s []string
	for _, p := range idx.ports(id) {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

func (idx netIndex) networkNames(id string) string {
	var s []string
	for _, at := range idx[id] {
		s = append(s, at.net.Name)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// networkSettings is docker's inspect NetworkSettings, for a running container.
type networkSettings struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
	Ports       map[string][]containers.PortBinding
	Networks    map[string]endpointSettings
}

type endpointSettings struct {
	NetworkID   string
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
	Aliases     []string
}

func (idx netIndex) settings(id string, declared map[string][]containers.PortBinding) networkSettings {
	ns := networkSettings{Ports: map[string][]containers.PortBinding{}, Networks: map[string]endpointSettings{}}
	for k := range declared {
		ns.Ports[k] = nil // declared but not published now: docker shows null
	}
	ats := idx[id]
	sort.Slice(ats, func(i, j int) bool { return ats[i].net.Name < ats[j].net.Name })
	for _, at := range ats {
		bits := 0
		if p, err := netip.ParsePrefix(at.net.Subnet); err == nil {
			bits = p.Bits()
		}
		es := endpointSettings{NetworkID: at.net.ID, IPAddress: at.ep.IP, IPPrefixLen: bits, Gateway: at.net.Gateway, MacAddress: at.ep.MAC, Aliases: at.ep.Aliases}
		ns.Networks[at.net.Name] = es
		if ns.IPAddress == "" || len(at.ep.Ports) > 0 {
			ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MacAddress = es.IPAddress, bits, es.Gateway, es.MacAddress
		}
	}
	for _, p := range idx.ports(id) {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		ns.Ports[k] = append(ns.Ports[k], containers.PortBinding{HostIP: ip, HostPort: strconv.Itoa(p.HostPort)})
	}
	return ns
}
