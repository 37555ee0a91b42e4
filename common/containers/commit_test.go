//go:build !windows

package containers

import (
	"reflect"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() dockerspec.DockerOCIImageConfig {
		return dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
			Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, WorkingDir: "/srv",
		}}
	}
	for _, tt := range []struct {
		changes []string
		check   func(c dockerspec.DockerOCIImageConfig) any
		want    any
	}{
		{[]string{`CMD ["cat", "/x"]`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Cmd }, []string{"cat", "/x"}},
		{[]string{`cmd echo $A`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Cmd }, []string{"/bin/sh", "-c", "echo $A"}},
		{[]string{`ENTRYPOINT ["top"]`}, func(c dockerspec.DockerOCIImageConfig) any { return [][]string{c.Entrypoint, c.Cmd} }, [][]string{{"top"}, nil}},
		{[]string{`CMD ["-b"]`, `ENTRYPOINT ["top"]`}, func(c dockerspec.DockerOCIImageConfig) any { return [][]string{c.Entrypoint, c.Cmd} }, [][]string{{"top"}, {"-b"}}},
		{[]string{`ENV A=2 B="x y" C=$A`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Env }, []string{"PATH=/bin", "A=2", "B=x y", "C=1"}},
		{[]string{`ENV D four`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Env }, []string{"PATH=/bin", "A=1", "D=four"}},
		{[]string{`LABEL a=b "c d"="e f"`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Labels }, map[string]string{"a": "b", "c d": "e f"}},
		{[]string{`EXPOSE 80 53/udp 8000-8001/TCP`}, func(c dockerspec.DockerOCIImageConfig) any { return len(c.ExposedPorts) }, 4},
		{[]string{`VOLUME /a /b/`}, func(c dockerspec.DockerOCIImageConfig) any { return c.Volumes }, map[string]struct{}{"/a": {}, "/b": {}}},
		{[]string{`VOLUME ["/a", "/b"]`}, func(c dockerspec.DockerOCIImageConfig) any { return len(c.Volumes) }, 2},
		{[]string{`WORKDIR sub`, `WORKDIR ../other`}, func(c dockerspec.DockerOCIImageConfig) any { return c.WorkingDir }, "/srv/other"},
		{[]string{`USER 1000:1000`}, func(c dockerspec.DockerOCIImageConfig) any { return c.User }, "1000:1000"},
		{[]string{`STOPSIGNAL SIGQUIT`}, func(c dockerspec.DockerOCIImageConfig) any { return c.StopSignal }, "SIGQUIT"},
		{[]string{`ONBUILD RUN make`}, func(c dockerspec.DockerOCIImageConfig) any { return c.OnBuild }, []string{"RUN make"}},
	} {
		cfg := base()
		if err := ApplyChanges(&cfg, tt.changes); err != nil {
			t.Errorf("ApplyChanges(%q) = %v", tt.changes, err)
			continue
		}
		if got := tt.check(cfg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ApplyChanges(%q): got %#v, want %#v", tt.changes, got, tt.want)
		}
	}
}

func TestApplyChangesRefuses(t *testing.T) {
	for _, tt := range []struct{ change, want string }{
		{"FROM x", "FROM cannot be applied as a change"},
		{"RUN true", "RUN cannot be applied as a change"},
		{"HEALTHCHECK NONE", "HEALTHCHECK cannot be applied"},
		{"NOSUCH x", "NOSUCH cannot be applied"},
		{"", "give one Dockerfile instruction"},
		{"EXPOSE 0", `port "0"`},
		{"EXPOSE 80/icmp", `protocol "icmp"`},
		{"EXPOSE 90-80", `port "90-80"`},
		{"VOLUME rel", "not an absolute path"},
		{"STOPSIGNAL SIGNOPE", "SIGNOPE"},
		{"ONBUILD FROM x", "FROM isn't allowed"},
		{"ENV", "ENV"},
	} {
		err := CheckChanges([]string{"CMD true", tt.change})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bad change") {
			t.Errorf("CheckChanges(%q) = %v, want an error with %q", tt.change, err, tt.want)
		}
	}
}

func TestCommitConfig(t *testing.T) {
	ic := dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
		Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, Entrypoint: []string{"/init"},
		Labels: map[string]string{"img": "1"},
	}}
	cfg := &Config{
		Entrypoint: []string{}, Cmd: []string{"sleep", "1"}, Env: []string{"A=2", "B=3"},
		Labels:       map[string]string{"mine": "x", LabelName: "box"},
		ExposedPorts: map[string]struct{}{"81/tcp": {}}, StopSignal: "SIGINT",
		HostConfig: HostConfig{Binds: []string{"/anon", "named:/n", "/host:/h"}, PortBindings: map[string][]PortBinding{"80/tcp": nil}},
	}
	commitConfig(&ic, cfg)
	if ic.Entrypoint != nil || !reflect.DeepEqual(ic.Cmd, []string{"sleep", "1"}) {
		t.Errorf("entrypoint %q cmd %q, want none and [sleep 1]", ic.Entrypoint, ic.Cmd)
	}
	if want := []string{"PATH=/bin", "A=2", "B=3"}; !reflect.DeepEqual(ic.Env, want) {
		t.Errorf("env %q, want %q", ic.Env, want)
	}
	if want := map[string]string{"img": "1", "mine": "x"}; !reflect.DeepEqual(ic.Labels, want) {
		t.Errorf("labels %v, want %v", ic.Labels, want)
	}
	if want := map[string]struct{}{"80/tcp": {}, "81/tcp": {}}; !reflect.DeepEqual(ic.ExposedPorts, want) {
		t.Errorf("ports %v, want %v", ic.ExposedPorts, want)
	}
	if want := map[string]struct{}{"/anon": {}}; !reflect.DeepEqual(ic.Volumes, want) {
		t.Errorf("volumes %v, want %v", ic.Volumes, want)
	}
	if ic.StopSignal != "SIGINT" {
		t.Errorf("stop signal %q, want SIGINT", ic.StopSignal)
	}
	ic = dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Cmd: []string{"sh"}}}
	commitConfig(&ic, &Config{Entrypoint: []string{"top"}})
	if !reflect.DeepEqual(ic.Entrypoint, []string{"top"}) || ic.Cmd != nil {
		t.Errorf("--entrypoint top: entrypoint %q cmd %q, want [top] and none, as the container ran", ic.Entrypoint, ic.Cmd)
	}
}

func TestCommitName(t *testing.T) {
	if got, err := commitName("busybox"); err != nil || got != "docker.io/library/busybox:latest" {
		t.Errorf("commitName(busybox) = %q, %v", got, err)
	}
	for _, bad := range []string{"Bad Name", "x@sha256:" + strings.Repeat("0", 64)} {
		if _, err := commitName(bad); err == nil {
			t.Errorf("commitName(%q) succeeded", bad)
		}
	}
}
