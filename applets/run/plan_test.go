//go:build !windows

package run

import (
	"reflect"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// The flags of run and create become the plan containers.Create works
// from: these tests pin that mapping without containerd.

func TestParsePlanShape(t *testing.T) {
	vars := map[string]string{"FROM_HOST": "h"}
	env := &cli.Env{Getenv: func(k string) string { return vars[k] }}
	f := createFlags{
		Name: "/web", Env: []string{"A=1", "FROM_HOST", "UNSET"}, Labels: []string{"tier=front"},
		Volumes: []string{"data:/data:ro", "/srv:/srv", "/cache"}, Tmpfs: []string{"/run:size=1m"},
		Restart: "on-failure:3", Memory: "64m", CPUs: "0.5", StopTimeout: "3",
		Network: "", Publish: []string{"127.0.0.1:8080:80/tcp"}, Pull: "never", Entrypoint: ptr("/bin/sh"),
	}
	p, err := parsePlan(env, &f, "localhost/busybox:latest", []string{"-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	three := 3
	want := containers.Config{
		Name: "web", Image: "localhost/busybox:latest", Cmd: []string{"-c", "true"}, Entrypoint: []string{"/bin/sh"},
		Env: []string{"A=1", "FROM_HOST=h"}, Labels: map[string]string{"tier": "front"}, StopTimeout: &three, Pull: "never",
		HostConfig: containers.HostConfig{
			Binds: f.Volumes, Tmpfs: map[string]string{"/run": "size=1m"}, NetworkMode: networks.DefaultName,
			RestartPolicy: containers.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3},
			PortBindings:  map[string][]containers.PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}},
			Memory:        64 << 20, NanoCPUs: 5e8,
			LogConfig: containers.LogConfig{Type: "json-file", Config: map[string]string{}},
		},
	}
	if !reflect.DeepEqual(p.Config, want) {
		t.Errorf("Config =\n%+v\nwant\n%+v", p.Config, want)
	}
	wantMounts := []containers.Mount{
		{Type: "volume", Source: "data", Target: "/data", ReadOnly: true, CreateSource: true},
		{Type: "bind", Source: "/srv", Target: "/srv", CreateSource: true},
		{Type: "volume", Target: "/cache", CreateSource: true},
		{Type: "tmpfs", Target: "/run", Options: []string{"nosuid", "nodev", "noexec", "size=1m"}},
	}
	if !reflect.DeepEqual(p.Mounts, wantMounts) {
		t.Errorf("Mounts =\n%+v\nwant\n%+v", p.Mounts, wantMounts)
	}
	wantNet := &networks.Plan{
		Networks: []networks.Attachment{{Network: networks.DefaultName}},
		Ports:    []networks.Port{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
	}
	if !reflect.DeepEqual(p.Network, wantNet) {
		t.Errorf("Network = %+v, want %+v", p.Network, wantNet)
	}
}

func TestParsePlanNetworkModes(t *testing.T) {
	env := &cli.Env{Getenv: func(string) string { return "" }}
	for _, mode := range []string{"none", "host"} {
		f := createFlags{Network: mode, Pull: "missing", Restart: "no"}
		p, err := parsePlan(env, &f, "img", nil)
		if err != nil || p.Network != nil || p.HostConfig.NetworkMode != mode {
			t.Errorf("--network %s: plan %+v, %v; want no network plan", mode, p, err)
		}
		f.Publish = []string{"80"}
		if _, err := parsePlan(env, &f, "img", nil); err == nil {
			t.Errorf("--network %s -p 80: no error", mode)
		}
	}
	f := createFlags{Network: "backend", IP: "10.5.0.9", Alias: []string{"db"}, Pull: "missing", Restart: "no"}
	p, err := parsePlan(env, &f, "img", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (networks.Attachment{Network: "backend", IP: "10.5.0.9", Aliases: []string{"db"}}); !reflect.DeepEqual(p.Network.Networks, []networks.Attachment{want}) {
		t.Errorf("attachments = %+v, want %+v", p.Network.Networks, want)
	}
	f = createFlags{Network: "container:db", Pull: "missing", Restart: "no"}
	if p, err := parsePlan(env, &f, "img", nil); err != nil || p.Network != nil || p.HostConfig.NetworkMode != "container:db" {
		t.Errorf("--network container:db: plan %+v, %v; want no network plan of its own", p, err)
	}
	f = createFlags{Network: "container:db", Publish: []string{"80"}, Pull: "missing", Restart: "no"}
	if _, err := parsePlan(env, &f, "img", nil); err == nil {
		t.Error("--network container:db -p 80: no error")
	}
}

func TestParseVolumeFlag(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want containers.Mount
		bad  bool
	}{
		{in: "/data", want: containers.Mount{Type: "volume", Target: "/data", CreateSource: true}},
		{in: "vol:/data", want: containers.Mount{Type: "volume", Source: "vol", Target: "/data", CreateSource: true}},
		{in: "/host:/data:ro", want: containers.Mount{Type: "bind", Source: "/host", Target: "/data", ReadOnly: true, CreateSource: true}},
		{in: "/host:/data:rw,z", want: containers.Mount{Type: "bind", Source: "/host", Target: "/data", CreateSource: true}},
		{in: "rel/path:/data", bad: true},
		{in: "./here:/data", want: containers.Mount{Type: "bind", Source: "./here", Target: "/data", CreateSource: true}},
		{in: ".hidden:/data", bad: true},
		{in: "vol:data", bad: true},
		{in: "vol:/data:rx", bad: true},
		{in: "a:b:c:d", bad: true},
	} {
		got, err := parseVolumeFlag(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("-v %q: no error", tt.in)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("-v %q = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want containers.Mount
		bad  bool
	}{
		{in: "type=bind,src=/h,dst=/c,readonly", want: containers.Mount{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true}},
		{in: "source=v,target=/c", want: containers.Mount{Type: "volume", Source: "v", Target: "/c"}},
		{in: "type=tmpfs,dst=/t,tmpfs-size=1m", want: containers.Mount{Type: "tmpfs", Target: "/t", Options: []string{"nosuid", "nodev", "noexec", "size=1m"}}},
		{in: "type=bind,src=/h/../h,dst=/c", want: containers.Mount{Type: "bind", Source: "/h", Target: "/c"}},
		{in: "type=bind,dst=/c", bad: true},
		{in: "type=tmpfs,src=x,dst=/t", bad: true},
		{in: "type=nfs,dst=/c", bad: true},
		{in: "src=v,dst=rel", bad: true},
		{in: "src=v,dst=/c,bogus=1", bad: true},
	} {
		got, err := parseMountFlag(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("--mount %q: no error", tt.in)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("--mount %q = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRestart(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want containers.RestartPolicy
		bad  bool
	}{
		{in: "", want: containers.RestartPolicy{Name: "no"}},
		{in: "no", want: containers.RestartPolicy{Name: "no"}},
		{in: "always", want: containers.RestartPolicy{Name: "always"}},
		{in: "unless-stopped", want: containers.RestartPolicy{Name: "unless-stopped"}},
		{in: "on-failure", want: containers.RestartPolicy{Name: "on-failure"}},
		{in: "on-failure:5", want: containers.RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}},
		{in: "on-failure:-1", bad: true},
		{in: "on-failure:x", bad: true},
		{in: "always:3", bad: true},
		{in: "sometimes", bad: true},
	} {
		got, err := parseRestart(tt.in)
		if tt.bad != (err != nil) || !tt.bad && got != tt.want {
			t.Errorf("--restart %q = %+v, %v; want %+v (bad: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func ptr[T any](v T) *T { return &v }
