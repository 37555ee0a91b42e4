package networks

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Port
	}{
		{"80", []Port{{HostPort: 0, ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1:8080:80/udp", []Port{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "udp"}}},
		{"127.0.0.1::80", []Port{{HostIP: "127.0.0.1", ContainerPort: 80, Proto: "tcp"}}},
		{"0.0.0.0:81:80", []Port{{HostPort: 81, ContainerPort: 80, Proto: "tcp"}}},
		{"8000-8001:80-81", []Port{{HostPort: 8000, ContainerPort: 80, Proto: "tcp"}, {HostPort: 8001, ContainerPort: 81, Proto: "tcp"}}},
		{"80-81", []Port{{ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 81, Proto: "tcp"}}},
	} {
		got, err := ParsePublish(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "65536", "x", "80/sctp", "1.2.3:80:80", "::1:80:80", "8000-8002:80-81", "90-80", "8080:80-81", "a:b:c:d"} {
		if got, err := ParsePublish(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want an invalid-argument error", bad, got, err)
		}
	}
}

func TestParseOptions(t *testing.T) {
	n, err := parseOptions(CreateOptions{Name: "x", Subnet: "10.1.0.0/16", IPRange: "10.1.2.0/24"})
	if err != nil || n.Gateway != "10.1.0.1" || n.IPRange != "10.1.2.0/24" {
		t.Errorf("parseOptions = %+v, %v; want gateway 10.1.0.1", n, err)
	}
	for _, o := range []CreateOptions{
		{Subnet: "10.1.0.0/33"},
		{Subnet: "10.1.0.1/16"},
		{Subnet: "fd00::/64"},
		{Subnet: "10.1.0.0/31"},
		{Subnet: "10.1.0.0/16", Gateway: "10.2.0.1"},
		{Subnet: "10.1.0.0/16", Gateway: "10.1.0.0"},
		{Subnet: "10.1.0.0/16", IPRange: "10.2.0.0/24"},
		{Subnet: "10.1.0.0/24", IPRange: "10.1.0.0/16"},
		{Gateway: "10.1.0.1"},
	} {
		if _, err := parseOptions(o); !errdefs.IsInvalidArgument(err) {
			t.Errorf("parseOptions(%+v) = %v; want an invalid-argument error", o, err)
		}
	}
	if _, err := parseOptions(CreateOptions{Driver: "overlay"}); !errdefs.IsNotImplemented(err) {
		t.Errorf("driver overlay: %v; want not-implemented", err)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "front-end", "db_1.x"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a/b", "..", "host", "none", "a b", string(make([]byte, 129))} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil; want an error", bad)
		}
	}
}

func TestAllocate(t *testing.T) {
	n := &Network{Name: "n", Subnet: "10.0.0.0/29", Gateway: "10.0.0.1", Endpoints: map[string]*Endpoint{}}
	var got []string
	for i := 0; i < 5; i++ { // .2 to .6: .0 is the network, .1 the gateway, .7 broadcast
		a, err := allocate(n, "")
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, a.String())
		n.Endpoints[a.String()] = &Endpoint{IP: a.String()}
		n.LastIP = a.String()
	}
	if want := []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allocated %v; want %v", got, want)
	}
	if _, err := allocate(n, ""); !errdefs.IsResourceExhausted(err) {
		t.Errorf("full network: %v; want resource-exhausted", err)
	}
	// A freed address is taken again only after the others.
	delete(n.Endpoints, "10.0.0.3")
	if a, err := allocate(n, ""); err != nil || a.String() != "10.0.0.3" {
		t.Errorf("after freeing .3: %v, %v", a, err)
	}
	if _, err := allocate(n, "10.0.0.4"); !errdefs.IsAlreadyExists(err) {
		t.Errorf("--ip of a taken address: %v", err)
	}
	if _, err := allocate(n, "10.0.1.4"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("--ip outside the subnet: %v", err)
	}
	r := &Network{Name: "r", Subnet: "10.0.0.0/16", Gateway: "10.0.0.1", IPRange: "10.0.9.0/30"}
	if a, err := allocate(r, ""); err != nil || a.String() != "10.0.9.0" {
		t.Errorf("ip-range: %v, %v; want 10.0.9.0", a, err)
	}
}

func TestPickSubnetAvoidsOthers(t *testing.T) {
	others := []*Network{{Name: "a", Subnet: "172.17.0.0/16"}, {Name: "b", Subnet: "172.18.5.0/24"}}
	n := &Network{Name: "c"}
	if err := pickSubnet(n, others); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix(n.Subnet)
	for _, o := range others {
		if p.Overlaps(netip.MustParsePrefix(o.Subnet)) {
			t.Errorf("picked %s, which overlaps network %s's %s", p, o.Name, o.Subnet)
		}
	}
	clash := &Network{Name: "d", Subnet: "172.18.0.0/16"}
	if err := pickSubnet(clash, others); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("overlapping --subnet: %v; want failed-precondition", err)
	}
}

func TestHostsLines(t *testing.T) {
	n := &Network{Name: "front", Endpoints: map[string]*Endpoint{
		"a": {Name: "api", Aliases: []string{"svc"}, IP: "10.0.0.2"},
		"b": {Name: "web", IP: "10.0.0.3"},
	}}
	var b strings.Builder
	hostsLines(&b, n, "a", "hostA")
	if want := "10.0.0.2\thostA api svc\n10.0.0.3\tweb\n"; b.String() != want {
		t.Errorf("user network lines:\n%s\nwant:\n%s", b.String(), want)
	}
	n.Name = DefaultName
	b.Reset()
	hostsLines(&b, n, "a", "hostA")
	if want := "10.0.0.2\thostA\n"; b.String() != want {
		t.Errorf("default network lines:\n%s\nwant:\n%s", b.String(), want)
	}
}
