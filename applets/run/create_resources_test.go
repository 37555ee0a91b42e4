//go:build !windows

package run

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

func resourcePlan(t *testing.T, f createFlags) (*containers.Plan, error) {
	t.Helper()
	env := &cli.Env{Getenv: func(string) string { return "" }}
	f.Pull, f.Restart = "missing", "no"
	return parsePlan(env, &f, "localhost/busybox:latest", nil)
}

func TestResourceFlagsPlan(t *testing.T) {
	f := createFlags{Memory: "64m", resourceFlags: resourceFlags{
		CPUShares: 512, CpusetCpus: "0", CpusetMems: "0", MemorySwap: "128m", MemoryReservation: "32m",
		OomKillDisable: true, BlkioWeight: 300, CgroupParent: "/batch", Cgroupns: "private",
		Devices:           []string{"/dev/null", "/dev/null:/dev/nil", "/dev/null:r", "/dev/null:/dev/n2:rw"},
		DeviceCgroupRules: []string{"c 1:3 mr", "a *:* rwm"},
		GroupAdd:          []string{"1234", "audio"},
		Sysctls:           []string{"net.ipv4.ip_forward=1", "kernel.sem=250 32000 32 128", "fs.mqueue.msg_max=20"},
		Domainname:        "example.org", Expose: []string{"80", "53/udp", "7000-7001"},
		DNSSearch: []string{"a.example", "."}, DNSOptions: []string{"ndots:2"}, DNSOpt: []string{"rotate"},
		MacAddress: "02:42:AC:11:00:02",
	}}
	f.Network = "backend"
	p, err := resourcePlan(t, f)
	if err != nil {
		t.Fatal(err)
	}
	hc := p.HostConfig
	want := containers.Resources{
		CPUShares: 512, CpusetCpus: "0", CpusetMems: "0", MemorySwap: 128 << 20, MemoryReservation: 32 << 20,
		OomKillDisable: true, BlkioWeight: 300, CgroupParent: "/batch",
		Devices: []containers.DeviceMapping{
			{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "rwm"},
			{PathOnHost: "/dev/null", PathInContainer: "/dev/nil", CgroupPermissions: "rwm"},
			{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "r"},
			{PathOnHost: "/dev/null", PathInContainer: "/dev/n2", CgroupPermissions: "rw"},
		},
		DeviceCgroupRules: []string{"c 1:3 mr", "a *:* rwm"},
	}
	if !reflect.DeepEqual(hc.Resources, want) {
		t.Errorf("Resources = %+v, want %+v", hc.Resources, want)
	}
	if got, want := hc.Sysctls, map[string]string{"net.ipv4.ip_forward": "1", "kernel.sem": "250 32000 32 128", "fs.mqueue.msg_max": "20"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sysctls = %v, want %v", got, want)
	}
	if got, want := p.ExposedPorts, map[string]struct{}{"80/tcp": {}, "53/udp": {}, "7000/tcp": {}, "7001/tcp": {}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ExposedPorts = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(hc.GroupAdd, []string{"1234", "audio"}) || hc.CgroupnsMode != "private" ||
		!reflect.DeepEqual(hc.DNSSearch, []string{"a.example", "."}) || !reflect.DeepEqual(hc.DNSOptions, []string{"ndots:2", "rotate"}) {
		t.Errorf("HostConfig = %+v", hc)
	}
	if p.Domainname != "example.org" || p.MacAddress != "02:42:ac:11:00:02" || p.Network.Networks[0].MAC != "02:42:ac:11:00:02" {
		t.Errorf("Domainname, MacAddress, network MAC = %q, %q, %+v", p.Domainname, p.MacAddress, p.Network.Networks[0])
	}
}

func TestResourceFlagsSwapUnlimited(t *testing.T) {
	p, err := resourcePlan(t, createFlags{Memory: "64m", resourceFlags: resourceFlags{MemorySwap: "-1"}})
	if err != nil || p.HostConfig.MemorySwap != -1 {
		t.Errorf("--memory 64m --memory-swap -1: MemorySwap = %v, %v; want -1, nil", p, err)
	}
	if err := swapSize("").IsValidValue("-1"); err != nil {
		t.Errorf(`IsValidValue("-1") = %v, want nil: docker's "--memory-swap -1"`, err)
	}
	if err := swapSize("").IsValidValue("--rm"); err == nil {
		t.Errorf(`IsValidValue("--rm") = nil, want the option refused as a value`)
	}
}

// --net replans the network as --network would, keeping -p's ports.
func TestResourceFlagsNet(t *testing.T) {
	for _, tt := range []struct {
		net, mode string
		planned   bool
	}{{"backend", "backend", true}, {"none", "none", false}, {"host", "host", false}, {"bridge", "bridge", true}} {
		p, err := resourcePlan(t, createFlags{resourceFlags: resourceFlags{Net: tt.net}})
		if err != nil {
			t.Errorf("--net %s: %v", tt.net, err)
			continue
		}
		if p.HostConfig.NetworkMode != tt.mode || (p.Network != nil) != tt.planned {
			t.Errorf("--net %s: NetworkMode %q, plan %+v; want %q, planned %v", tt.net, p.HostConfig.NetworkMode, p.Network, tt.mode, tt.planned)
		}
		if tt.planned && p.Network.Networks[0].Network != tt.mode {
			t.Errorf("--net %s: plans network %q", tt.net, p.Network.Networks[0].Network)
		}
	}
	p, err := resourcePlan(t, createFlags{Publish: []string{"8080:80"}, resourceFlags: resourceFlags{Net: "backend"}})
	if err != nil || len(p.Network.Ports) != 1 || p.Network.Ports[0].HostPort != 8080 || p.Network.Networks[0].Network != "backend" {
		t.Errorf("--net backend -p 8080:80: plan %+v, %v", p, err)
	}
	if p != nil && p.HostConfig.PortBindings["80/tcp"][0].HostPort != "8080" {
		t.Errorf("--net backend -p 8080:80: PortBindings %v", p.HostConfig.PortBindings)
	}
	if _, err := resourcePlan(t, createFlags{Network: "front", resourceFlags: resourceFlags{Net: "backend"}}); err == nil {
		t.Error("--network front --net backend: accepted, want a refusal")
	}
	if p, err := resourcePlan(t, createFlags{Network: networks.DefaultName, resourceFlags: resourceFlags{Net: networks.DefaultName}}); err != nil || p.HostConfig.NetworkMode != networks.DefaultName {
		t.Errorf("--network bridge --net bridge: %v", err)
	}
}

func TestResourceFlagsRefuse(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	typo := write("typo.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","exclude":{"caps":["CAP_SYS_ADMIN"]}}]}`)
	noAction := write("noaction.json", `{"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`)
	badAction := write("badaction.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOPE"}]}`)
	both := write("both.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"mkdir","names":["mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`)
	badKernel := write("kernel.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","includes":{"minKernel":"5.8.1"}}]}`)
	good := write("good.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`)
	r := func(rf resourceFlags) createFlags { return createFlags{resourceFlags: rf} }
	for _, tt := range []struct {
		name string
		f    createFlags
		want string
	}{
		{"--cpu-shares 1", r(resourceFlags{CPUShares: 1}), "bad --cpu-shares 1: the range is 2 to 262144"},
		{"--cpu-shares -5", r(resourceFlags{CPUShares: -5}), "bad --cpu-shares -5"},
		{"--cpu-shares too many", r(resourceFlags{CPUShares: 262145}), "bad --cpu-shares 262145"},
		{"--cpuset-cpus word", r(resourceFlags{CpusetCpus: "all"}), `bad --cpuset-cpus "all": want a list`},
		{"--cpuset-cpus backwards", r(resourceFlags{CpusetCpus: "3-1"}), `bad --cpuset-cpus "3-1"`},
		{"--cpuset-cpus missing", r(resourceFlags{CpusetCpus: "0,100000"}), `bad --cpuset-cpus "0,100000": 100000 is not one of this machine's CPUs`},
		{"--cpuset-mems missing", r(resourceFlags{CpusetMems: "4000"}), `bad --cpuset-mems "4000": 4000 is not one of this machine's memory nodes`},
		{"--memory-swap alone", r(resourceFlags{MemorySwap: "1g"}), "--memory-swap needs --memory"},
		{"--memory-swap -1 alone", r(resourceFlags{MemorySwap: "-1"}), "--memory-swap needs --memory"},
		{"--memory-swap below", createFlags{Memory: "64m", resourceFlags: resourceFlags{MemorySwap: "32m"}}, `bad --memory-swap "32m": it is memory plus swap`},
		{"--memory-swap -2", createFlags{Memory: "64m", resourceFlags: resourceFlags{MemorySwap: "-2"}}, `bad --memory-swap "-2"`},
		{"--memory-swap word", createFlags{Memory: "64m", resourceFlags: resourceFlags{MemorySwap: "lots"}}, `bad --memory-swap "lots"`},
		{"--memory-reservation above", createFlags{Memory: "64m", resourceFlags: resourceFlags{MemoryReservation: "65m"}}, `bad --memory-reservation "65m": a soft limit above --memory`},
		{"--memory-reservation tiny", r(resourceFlags{MemoryReservation: "1m"}), `bad --memory-reservation "1m": the smallest is 6m`},
		{"--blkio-weight low", r(resourceFlags{BlkioWeight: 9}), "bad --blkio-weight 9: the range is 10 to 1000"},
		{"--blkio-weight high", r(resourceFlags{BlkioWeight: 1001}), "bad --blkio-weight 1001"},
		{"--cgroup-parent ..", r(resourceFlags{CgroupParent: "../x"}), `bad --cgroup-parent "../x"`},
		{"--cgroup-parent systemd", r(resourceFlags{CgroupParent: "system.slice:lepton:x"}), `bad --cgroup-parent "system.slice:lepton:x"`},
		{"--cgroup-parent root", r(resourceFlags{CgroupParent: "/"}), `bad --cgroup-parent "/"`},
		{"--cgroupns", r(resourceFlags{Cgroupns: "container:x"}), `bad --cgroupns "container:x": want host or private`},
		{"--device relative", r(resourceFlags{Devices: []string{"dev/null"}}), `bad --device "dev/null": both paths must be absolute`},
		{"--device relative target", r(resourceFlags{Devices: []string{"/dev/null:nil"}}), `bad --device "/dev/null:nil": both paths must be absolute`},
		{"--device missing", r(resourceFlags{Devices: []string{"/dev/lepton-none"}}), `bad --device "/dev/lepton-none": stat /dev/lepton-none`},
		{"--device perms", r(resourceFlags{Devices: []string{"/dev/null:/dev/null:rr"}}), "the permissions are some of r, w and m"},
		{"--device four parts", r(resourceFlags{Devices: []string{"/a:/b:r:w"}}), "want HOST[:CONTAINER][:PERMS]"},
		{"--device-cgroup-rule type", r(resourceFlags{DeviceCgroupRules: []string{"x 1:3 r"}}), "the type is a, b or c"},
		{"--device-cgroup-rule number", r(resourceFlags{DeviceCgroupRules: []string{"c one:3 r"}}), "a device number is a whole number or *"},
		{"--device-cgroup-rule access", r(resourceFlags{DeviceCgroupRules: []string{"c 1:3 x"}}), "the access is some of r, w and m"},
		{"--device-cgroup-rule fields", r(resourceFlags{DeviceCgroupRules: []string{"c 1:3"}}), "three fields"},
		{"--group-add space", r(resourceFlags{GroupAdd: []string{"a b"}}), `bad --group-add "a b"`},
		{"--group-add empty", r(resourceFlags{GroupAdd: []string{""}}), `bad --group-add ""`},
		{"--group-add option", r(resourceFlags{GroupAdd: []string{"-x"}}), `bad --group-add "-x"`},
		{"--sysctl host kernel", r(resourceFlags{Sysctls: []string{"kernel.pid_max=10"}}), `bad --sysctl "kernel.pid_max=10": sysctl kernel.pid_max is not namespaced`},
		{"--sysctl vm", r(resourceFlags{Sysctls: []string{"vm.swappiness=1"}}), "is not namespaced"},
		{"--sysctl no value", r(resourceFlags{Sysctls: []string{"net.ipv4.ip_forward"}}), "want KEY=VALUE"},
		{"--sysctl newline", r(resourceFlags{Sysctls: []string{"net.ipv4.ip_forward=1\n2"}}), "control character"},
		{"--sysctl net on host", createFlags{Network: "host", resourceFlags: resourceFlags{Sysctls: []string{"net.core.somaxconn=1"}}}, "with --network host it would change the host's network stack"},
		{"--sysctl net on --net host", r(resourceFlags{Net: "host", Sysctls: []string{"net.core.somaxconn=1"}}), "with --network host"},
		{"--domainname space", r(resourceFlags{Domainname: "a b"}), `bad --domainname "a b"`},
		{"--domainname long", r(resourceFlags{Domainname: strings.Repeat("a", 65)}), "bad --domainname"},
		{"--expose mapping", r(resourceFlags{Expose: []string{"8080:80"}}), `bad --expose "8080:80"`},
		{"--expose sctp", r(resourceFlags{Expose: []string{"80/sctp"}}), `bad --expose "80/sctp"`},
		{"--expose word", r(resourceFlags{Expose: []string{"http"}}), `bad --expose "http"`},
		{"--dns-search space", r(resourceFlags{DNSSearch: []string{"a b"}}), `bad --dns-search "a b"`},
		{"--dns-search line", r(resourceFlags{DNSSearch: []string{"a\nnameserver 1.1.1.1"}}), "bad --dns-search"},
		{"--dns-search hyphen", r(resourceFlags{DNSSearch: []string{"-a.example"}}), "bad --dns-search"},
		{"--dns-option empty", r(resourceFlags{DNSOptions: []string{""}}), `bad --dns-option ""`},
		{"--dns-option space", r(resourceFlags{DNSOptions: []string{"ndots:1 rotate"}}), `bad --dns-option "ndots:1 rotate"`},
		{"--dns-opt line", r(resourceFlags{DNSOpt: []string{"a\nb"}}), "bad --dns-option"},
		{"--mac-address word", r(resourceFlags{MacAddress: "nope"}), `bad --mac-address "nope": want six bytes`},
		{"--mac-address long", r(resourceFlags{MacAddress: "02:00:00:00:00:00:00:01"}), "want six bytes"},
		{"--mac-address multicast", r(resourceFlags{MacAddress: "01:00:5e:00:00:01"}), "a multicast or zero address"},
		{"--mac-address zero", r(resourceFlags{MacAddress: "00:00:00:00:00:00"}), "a multicast or zero address"},
		{"--mac-address on none", createFlags{Network: "none", resourceFlags: resourceFlags{MacAddress: "02:00:00:00:00:01"}}, "--mac-address needs a bridge network, not --network none"},
		{"--mac-address on host", r(resourceFlags{Net: "host", MacAddress: "02:00:00:00:00:01"}), "--mac-address needs a bridge network, not --network host"},
		{"--link", r(resourceFlags{Link: []string{"db"}}), "--link is not supported: put the containers on a user-defined network instead (lepton network create NET, then --network NET on each)"},
		{"--net and --network", createFlags{Network: "a1", resourceFlags: resourceFlags{Net: "b2"}}, "--net is --network's old name"},
		{"--net none -p", createFlags{Publish: []string{"80"}, resourceFlags: resourceFlags{Net: "none"}}, "-p and -P need a bridge network"},
		{"--net host -P", createFlags{PublishAll: true, resourceFlags: resourceFlags{Net: "host"}}, "-p and -P need a bridge network"},
		{"--net container: -p", createFlags{Publish: []string{"80"}, resourceFlags: resourceFlags{Net: "container:db"}}, "conflicting options: -p/-P and --network container:db"},
		{"--net container: --mac-address", r(resourceFlags{Net: "container:db", MacAddress: "02:00:00:00:00:01"}), "conflicting options: --mac-address and --network container:db"},
		{"seccomp missing", createFlags{SecurityOpt: []string{"seccomp=" + dir + "/none.json"}}, "no such file or directory"},
		{"seccomp empty", createFlags{SecurityOpt: []string{"seccomp="}}, `bad security option "seccomp="`},
		{"seccomp typo", createFlags{SecurityOpt: []string{"seccomp=" + typo}}, `unknown field "exclude"`},
		{"seccomp no defaultAction", createFlags{SecurityOpt: []string{"seccomp=" + noAction}}, `defaultAction "" is not one of`},
		{"seccomp bad action", createFlags{SecurityOpt: []string{"seccomp=" + badAction}}, `action "SCMP_ACT_NOPE"`},
		{"seccomp name and names", createFlags{SecurityOpt: []string{"seccomp:" + both}}, "has both name and names"},
		{"seccomp minKernel", createFlags{SecurityOpt: []string{"seccomp=" + badKernel}}, `minKernel "5.8.1" is not MAJOR.MINOR`},
		{"seccomp with --privileged", createFlags{Privileged: true, SecurityOpt: []string{"seccomp=" + good}}, "--privileged runs without seccomp"},
		{"no-new-privileges maybe", createFlags{SecurityOpt: []string{"no-new-privileges:maybe"}}, `bad security option "no-new-privileges:maybe"`},
		{"apparmor empty", createFlags{SecurityOpt: []string{"apparmor="}}, `bad security option "apparmor="`},
		{"label bogus", createFlags{SecurityOpt: []string{"label=bogus"}}, "want label=disable"},
		{"label empty type", createFlags{SecurityOpt: []string{"label=type:"}}, "want label=disable"},
		{"systempaths", createFlags{SecurityOpt: []string{"systempaths=confined"}}, "want systempaths=unconfined"},
		{"unknown", createFlags{SecurityOpt: []string{"seccomp"}}, `bad security option "seccomp"`},
		{"unknown key", createFlags{SecurityOpt: []string{"selinux=on"}}, `bad security option "selinux=on"`},
	} {
		_, err := resourcePlan(t, tt.f)
		var ue *cli.UsageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: parsePlan = %v, want a usage error holding %q", tt.name, err, tt.want)
		}
	}
}

func TestResourceFlagsAccept(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "p.json")
	body := `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],
		"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW","comment":"io"},
		{"name":"mount","action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"},"excludes":{"arches":["s390x"]}},
		{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}`
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		f    createFlags
	}{
		{"--cpu-shares 0 is the default", createFlags{resourceFlags: resourceFlags{CPUShares: 0}}},
		{"--cpu-shares extremes", createFlags{resourceFlags: resourceFlags{CPUShares: 262144}}},
		{"--memory-swap equal to --memory: no swap", createFlags{Memory: "64m", resourceFlags: resourceFlags{MemorySwap: "64m"}}},
		{"--memory-swap 0 is unset", createFlags{resourceFlags: resourceFlags{MemorySwap: "0"}}},
		{"--memory-reservation alone", createFlags{resourceFlags: resourceFlags{MemoryReservation: "6m"}}},
		{"--oom-kill-disable alone", createFlags{resourceFlags: resourceFlags{OomKillDisable: true}}},
		{"--cgroup-parent relative", createFlags{resourceFlags: resourceFlags{CgroupParent: "batch/low"}}},
		{"--cgroupns host", createFlags{resourceFlags: resourceFlags{Cgroupns: "host"}}},
		{"--device-cgroup-rule any", createFlags{resourceFlags: resourceFlags{DeviceCgroupRules: []string{"b *:* m", "c 10:200 rwm"}}}},
		{"--group-add names", createFlags{resourceFlags: resourceFlags{GroupAdd: []string{"wheel", "my_group.x", "machine$", "0"}}}},
		{"--sysctl ipc and mqueue", createFlags{resourceFlags: resourceFlags{Sysctls: []string{"kernel.shm_rmid_forced=1", "kernel.msgmax=8192", "fs.mqueue.queues_max=10"}}}},
		{"--sysctl net on none", createFlags{Network: "none", resourceFlags: resourceFlags{Sysctls: []string{"net.ipv4.ping_group_range=0 0"}}}},
		{"--dns-search trailing dot", createFlags{resourceFlags: resourceFlags{DNSSearch: []string{"corp.example."}}}},
		{"--expose on none", createFlags{Network: "none", resourceFlags: resourceFlags{Expose: []string{"80"}}}},
		{"--mac-address on the default network", createFlags{resourceFlags: resourceFlags{MacAddress: "02-42-ac-11-00-02"}}},
		{"--security-opt every known spelling", createFlags{SecurityOpt: []string{
			"no-new-privileges", "no-new-privileges:true", "no-new-privileges=false", "seccomp=unconfined", "seccomp:unconfined",
			"apparmor=unconfined", "apparmor:unconfined", "label=disable", "label:disable", "systempaths=unconfined"}}},
		{"--security-opt docker seccomp profile", createFlags{SecurityOpt: []string{"seccomp=" + profile}}},
		{"--privileged with seccomp=unconfined", createFlags{Privileged: true, SecurityOpt: []string{"seccomp=unconfined"}}},
		{"--cap-add every spelling", createFlags{CapAdd: []string{"NET_ADMIN", "cap_sys_admin", "Cap_Chown", "ALL"}, CapDrop: []string{"all"}}},
	} {
		if _, err := resourcePlan(t, tt.f); err != nil {
			t.Errorf("%s: parsePlan = %v, want nil", tt.name, err)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want containers.DeviceMapping
	}{
		{"/dev/null", containers.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "rwm"}},
		{"/dev/null:/dev/x", containers.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}},
		{"/dev/null:mr", containers.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "mr"}},
		{"/dev/null:/dev/x:w", containers.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "w"}},
	} {
		got, err := parseDevice(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseDevice(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// blockDev is a block device of this machine, for the per-device block
// I/O options (they stat it); the test skips without one.
func blockDev(t *testing.T) string {
	t.Helper()
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		p := "/dev/" + e.Name()
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
			return p
		}
	}
	t.Skip("no block device in /dev")
	return ""
}

func TestMoreFlagsPlan(t *testing.T) {
	dev := blockDev(t)
	swappiness := int64(10)
	f := createFlags{Alias: []string{"a1"}, moreFlags: moreFlags{
		CPUPeriod: 50000, CPUQuota: 25000, CPURtPeriod: 1000000, CPURtRuntime: 10000, MemorySwappiness: &swappiness,
		OomScoreAdj: -500, BlkioWeightDevice: []string{dev + ":200"},
		DeviceReadBps: []string{dev + ":1mb"}, DeviceWriteBps: []string{dev + ":1024"},
		DeviceReadIOps: []string{dev + ":100"}, DeviceWriteIOps: []string{dev + ":0"},
		Annotations: []string{"org.example.a=1", "org.example.b=x=y", "org.example.empty"},
		Runtime:     "runc", NetAlias: []string{"old"}, Isolation: "default", Userns: "host", VolumeDriver: "local",
		DisableContentTrust: "true",
	}}
	f.Network = "backend"
	p, err := resourcePlan(t, f)
	if err != nil {
		t.Fatal(err)
	}
	hc := p.HostConfig
	r := hc.Resources
	if r.CPUPeriod != 50000 || r.CPUQuota != 25000 || r.CPURealtimePeriod != 1000000 || r.CPURealtimeRuntime != 10000 || r.MemorySwappiness == nil || *r.MemorySwappiness != 10 {
		t.Errorf("CPU and swappiness = %+v", r)
	}
	if want := []containers.WeightDevice{{Path: dev, Weight: 200}}; !reflect.DeepEqual(r.BlkioWeightDevice, want) {
		t.Errorf("BlkioWeightDevice = %+v, want %+v", r.BlkioWeightDevice, want)
	}
	for _, tt := range []struct {
		name string
		got  []containers.ThrottleDevice
		rate uint64
	}{{"read bps", r.BlkioDeviceReadBps, 1 << 20}, {"write bps", r.BlkioDeviceWriteBps, 1024}, {"read iops", r.BlkioDeviceReadIOps, 100}, {"write iops", r.BlkioDeviceWriteIOps, 0}} {
		if want := []containers.ThrottleDevice{{Path: dev, Rate: tt.rate}}; !reflect.DeepEqual(tt.got, want) {
			t.Errorf("%s = %+v, want %+v", tt.name, tt.got, want)
		}
	}
	if want := map[string]string{"org.example.a": "1", "org.example.b": "x=y", "org.example.empty": ""}; !reflect.DeepEqual(hc.Annotations, want) {
		t.Errorf("Annotations = %v, want %v", hc.Annotations, want)
	}
	if hc.OomScoreAdj != -500 || hc.Runtime != "io.containerd.runc.v2" || hc.Isolation != "default" || hc.UsernsMode != "host" || hc.VolumeDriver != "local" {
		t.Errorf("HostConfig = %+v", hc)
	}
	if got := p.Network.Networks[0].Aliases; !reflect.DeepEqual(got, []string{"a1", "old"}) {
		t.Errorf("--network-alias a1 --net-alias old: aliases %v", got)
	}
}

func TestMoreFlagsAccept(t *testing.T) {
	none := int64(-1)
	m := func(mf moreFlags) createFlags { return createFlags{moreFlags: mf} }
	for _, tt := range []struct {
		name string
		f    createFlags
		ok   func(*containers.Plan) bool
	}{
		{"--cpu-quota -1", m(moreFlags{CPUQuota: -1}), func(p *containers.Plan) bool { return p.HostConfig.CPUQuota == -1 }},
		{"--cpu-quota alone", m(moreFlags{CPUQuota: 1000}), func(p *containers.Plan) bool { return p.HostConfig.CPUQuota == 1000 }},
		{"--cpu-rt-runtime alone", m(moreFlags{CPURtRuntime: 950000}), func(p *containers.Plan) bool { return p.HostConfig.CPURealtimeRuntime == 950000 }},
		{"--memory-swappiness -1 is the host's", m(moreFlags{MemorySwappiness: &none}), func(p *containers.Plan) bool { return p.HostConfig.MemorySwappiness == nil }},
		{"--oom-score-adj extremes", m(moreFlags{OomScoreAdj: 1000}), func(p *containers.Plan) bool { return p.HostConfig.OomScoreAdj == 1000 }},
		{"--runtime a containerd shim", m(moreFlags{Runtime: "io.containerd.runsc.v1"}), func(p *containers.Plan) bool { return p.HostConfig.Runtime == "io.containerd.runsc.v1" }},
		{"--runtime containerd's runc", m(moreFlags{Runtime: "io.containerd.runc.v2"}), func(p *containers.Plan) bool { return p.HostConfig.Runtime == "io.containerd.runc.v2" }},
		{"no --runtime: the default", m(moreFlags{}), func(p *containers.Plan) bool { return p.HostConfig.Runtime == "" }},
		{"--disable-content-trust=1", m(moreFlags{DisableContentTrust: "1"}), func(*containers.Plan) bool { return true }},
		{"--net-alias alone", createFlags{Network: "backend", moreFlags: moreFlags{NetAlias: []string{"db"}}}, func(p *containers.Plan) bool {
			return reflect.DeepEqual(p.Network.Networks[0].Aliases, []string{"db"})
		}},
	} {
		p, err := resourcePlan(t, tt.f)
		if err != nil || !tt.ok(p) {
			t.Errorf("%s: parsePlan = %+v, %v", tt.name, p, err)
		}
	}
}

func TestMoreFlagsRefuse(t *testing.T) {
	dev := blockDev(t)
	big, neg := int64(101), int64(-2)
	m := func(mf moreFlags) createFlags { return createFlags{moreFlags: mf} }
	for _, tt := range []struct {
		name string
		f    createFlags
		want string
	}{
		{"--cpus and --cpu-period", createFlags{CPUs: "1", moreFlags: moreFlags{CPUPeriod: 100000}}, "conflicting options: --cpus and --cpu-period/--cpu-quota"},
		{"--cpus and --cpu-quota", createFlags{CPUs: "1", moreFlags: moreFlags{CPUQuota: 50000}}, "conflicting options: --cpus and --cpu-period/--cpu-quota"},
		{"--cpu-period low", m(moreFlags{CPUPeriod: 999}), "bad --cpu-period 999: the range is 1000 to 1000000"},
		{"--cpu-period high", m(moreFlags{CPUPeriod: 1000001}), "bad --cpu-period 1000001"},
		{"--cpu-quota low", m(moreFlags{CPUQuota: 999}), "bad --cpu-quota 999: the smallest is 1000"},
		{"--cpu-quota -2", m(moreFlags{CPUQuota: -2}), "bad --cpu-quota -2"},
		{"--cpu-rt-period negative", m(moreFlags{CPURtPeriod: -1}), "bad --cpu-rt-period -1"},
		{"--cpu-rt-runtime negative", m(moreFlags{CPURtRuntime: -1}), "bad --cpu-rt-runtime -1"},
		{"--cpu-rt-runtime above period", m(moreFlags{CPURtPeriod: 1000, CPURtRuntime: 2000}), "bad --cpu-rt-runtime 2000: it cannot be more than the realtime period (1000 microseconds)"},
		{"--cpu-rt-runtime above default period", m(moreFlags{CPURtRuntime: 1000001}), "(1000000 microseconds)"},
		{"--memory-swappiness 101", m(moreFlags{MemorySwappiness: &big}), "bad --memory-swappiness 101: the range is 0 to 100"},
		{"--memory-swappiness -2", m(moreFlags{MemorySwappiness: &neg}), "bad --memory-swappiness -2"},
		{"--oom-score-adj low", m(moreFlags{OomScoreAdj: -1001}), "bad --oom-score-adj -1001: the range is -1000 to 1000"},
		{"--oom-score-adj high", m(moreFlags{OomScoreAdj: 1001}), "bad --oom-score-adj 1001"},
		{"--blkio-weight-device no weight", m(moreFlags{BlkioWeightDevice: []string{dev}}), "want DEV:WEIGHT"},
		{"--blkio-weight-device not /dev", m(moreFlags{BlkioWeightDevice: []string{"sda:100"}}), "want DEV:WEIGHT"},
		{"--blkio-weight-device weight", m(moreFlags{BlkioWeightDevice: []string{dev + ":5"}}), "the weight's range is 10 to 1000"},
		{"--blkio-weight-device char device", m(moreFlags{BlkioWeightDevice: []string{"/dev/null:100"}}), "/dev/null is not a block device"},
		{"--device-read-bps missing", m(moreFlags{DeviceReadBps: []string{"/dev/lepton-none:1mb"}}), `bad --device-read-bps "/dev/lepton-none:1mb": stat /dev/lepton-none`},
		{"--device-read-bps char device", m(moreFlags{DeviceReadBps: []string{"/dev/null:1mb"}}), `bad --device-read-bps "/dev/null:1mb": /dev/null is not a block device`},
		{"--device-write-bps rate", m(moreFlags{DeviceWriteBps: []string{dev + ":fast"}}), "want a rate in bytes a second"},
		{"--device-write-bps negative", m(moreFlags{DeviceWriteBps: []string{dev + ":-1"}}), "want a rate in bytes a second"},
		{"--device-read-iops unit", m(moreFlags{DeviceReadIOps: []string{dev + ":1k"}}), "want a whole number of operations a second"},
		{"--device-write-iops format", m(moreFlags{DeviceWriteIOps: []string{"100"}}), "want DEV:RATE, such as /dev/sda:100"},
		{"--device-write-iops char device", m(moreFlags{DeviceWriteIOps: []string{"/dev/zero:100"}}), "/dev/zero is not a block device"},
		{"--annotation empty key", m(moreFlags{Annotations: []string{"=x"}}), `bad --annotation "=x": the key is empty`},
		{"--runtime name", m(moreFlags{Runtime: "crun"}), `bad --runtime "crun": lepton runs containers with containerd shims`},
		{"--runtime path", m(moreFlags{Runtime: "/usr/bin/runc"}), `bad --runtime "/usr/bin/runc"`},
		{"--runtime no version", m(moreFlags{Runtime: "io.containerd.runsc"}), `bad --runtime "io.containerd.runsc"`},
		{"--isolation", m(moreFlags{Isolation: "hyperv"}), `bad --isolation "hyperv": process and hyperv isolation are Windows-only`},
		{"--userns", m(moreFlags{Userns: "remap"}), `bad --userns "remap": lepton does no user namespace remapping`},
		{"--volume-driver", m(moreFlags{VolumeDriver: "nfs"}), `bad --volume-driver "nfs": lepton has only local volumes`},
		{"--disable-content-trust=false", m(moreFlags{DisableContentTrust: "false"}), "--disable-content-trust=false: lepton does not support content trust (Notary)"},
		{"--disable-content-trust=maybe", m(moreFlags{DisableContentTrust: "maybe"}), `bad --disable-content-trust "maybe"`},
		{"--net-alias on the default network", m(moreFlags{NetAlias: []string{"db"}}), "--ip and --network-alias work on user-defined networks only"},
		{"--gpus", m(moreFlags{GPUs: "all"}), "--gpus is not supported: lepton has no GPU support (it needs NVIDIA's container toolkit hooks)"},
		{"--ip6", m(moreFlags{IP6: "fd00::2"}), "--ip6 is not supported: lepton's networks are IPv4"},
		{"--link-local-ip", m(moreFlags{LinkLocalIP: []string{"169.254.1.1"}}), "--link-local-ip is not supported"},
		{"--kernel-memory", m(moreFlags{KernelMemory: "64m"}), "--kernel-memory is not supported: kernel memory limits are gone from cgroup v2"},
		{"--storage-opt", m(moreFlags{StorageOpt: []string{"size=10G"}}), "--storage-opt is not supported: the overlayfs snapshotter has no per-container size"},
		{"--use-api-socket", m(moreFlags{UseAPISocket: true}), "--use-api-socket is not supported: lepton has no daemon"},
	} {
		_, err := resourcePlan(t, tt.f)
		var ue *cli.UsageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: parsePlan = %v, want a usage error holding %q", tt.name, err, tt.want)
		}
	}
}
