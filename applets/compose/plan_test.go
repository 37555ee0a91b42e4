//go:build !windows

package compose

import (
	"context"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

func project(t *testing.T, yaml string) *types.Project {
	t.Helper()
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  "/proj",
		ConfigFiles: []types.ConfigFile{{Filename: "/proj/compose.yaml", Content: []byte(yaml)}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("proj", true) })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func plan(t *testing.T, p *types.Project, svc string) (*planInput, error) {
	in := &planInput{project: p, service: p.Services[svc], name: "proj-" + svc + "-1", image: "img", labels: map[string]string{labelProject: "proj"},
		containerOf: func(s string) (string, error) { return "proj-" + s + "-1", nil },
		file:        func(kind, name string, _ []byte) (string, error) { return "/data/" + kind + "s/" + name, nil },
	}
	return in, nil
}

func TestServicePlan(t *testing.T) {
	p := project(t, `
services:
  web:
    image: busybox
    command: ["httpd", "-f"]
    environment: {A: "1", B: null}
    ports: ["127.0.0.1:8080:80", "9000/udp"]
    expose: ["81"]
    volumes: ["data:/data", "./site:/www:ro", {type: tmpfs, target: /t, tmpfs: {size: 1048576}}]
    tmpfs: ["/run:exec"]
    networks:
      default: {aliases: [www], ipv4_address: 10.1.0.5}
    restart: on-failure:3
    deploy: {resources: {limits: {cpus: "0.5", pids: 50, memory: 64m}}}
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 4}
    stop_grace_period: 3s
    extra_hosts: ["h=10.0.0.1"]
    labels: {team: core}
    secrets: [tok]
  side:
    image: busybox
    network_mode: service:web
volumes:
  data: {}
secrets:
  tok: {environment: TOK}
networks:
  default:
    ipam: {config: [{subnet: 10.1.0.0/24}]}
`)
	p.Environment = types.Mapping{"TOK": "x"}
	in, _ := plan(t, p, "web")
	pl, err := servicePlan(*in)
	if err != nil {
		t.Fatal(err)
	}
	c, h := pl.Config, pl.HostConfig
	if strings.Join(c.Cmd, " ") != "httpd -f" || strings.Join(c.Env, ",") != "A=1" || c.Labels["team"] != "core" || c.Labels[labelProject] != "proj" {
		t.Errorf("config: %+v", c)
	}
	if h.RestartPolicy.Name != "on-failure" || h.RestartPolicy.MaximumRetryCount != 3 || h.Memory != 64<<20 || h.NanoCPUs != 5e8 || h.PidsLimit != 50 {
		t.Errorf("host config: %+v", h)
	}
	if *c.StopTimeout != 3 || c.Healthcheck.Retries != 4 || c.Healthcheck.Interval.String() != "2s" || !pl.HealthFromFlags {
		t.Errorf("stop/health: %v %+v", *c.StopTimeout, c.Healthcheck)
	}
	if _, ok := c.ExposedPorts["81/tcp"]; !ok || len(h.PortBindings["80/tcp"]) != 1 || h.PortBindings["80/tcp"][0].HostPort != "8080" || len(h.PortBindings["9000/udp"]) != 1 {
		t.Errorf("ports: %v %v", c.ExposedPorts, h.PortBindings)
	}
	at := pl.Network.Networks[0]
	if at.Network != "proj_default" || at.IP != "10.1.0.5" || strings.Join(at.Aliases, ",") != "web,www" || h.NetworkMode != "proj_default" {
		t.Errorf("network: %+v", at)
	}
	var got []string
	for _, m := range pl.Mounts {
		got = append(got, m.Type+":"+m.Source+":"+m.Target+":"+strings.Join(m.Options, ","))
	}
	want := "volume:proj_data:/data:|bind:/proj/site:/www:|tmpfs::/t:nosuid,nodev,noexec,size=1048576|tmpfs::/run:nosuid,nodev|bind:/data/secrets/tok:/run/secrets/tok:"
	if strings.Join(got, "|") != want {
		t.Errorf("mounts:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if h.ExtraHosts[0] != "h:10.0.0.1" {
		t.Errorf("extra hosts: %v", h.ExtraHosts)
	}

	in, _ = plan(t, p, "side")
	pl, err = servicePlan(*in)
	if err != nil || pl.HostConfig.NetworkMode != "container:proj-web-1" || pl.Network != nil {
		t.Errorf("network_mode service: %v %+v", err, pl)
	}
}

func TestServicePlanRefuses(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"gpus: all", "service s: gpus is not supported"},
		{"pre_stop: [{command: [x]}]", "service s: pre_stop is not supported"},
		{"restart: sometimes", `bad restart "sometimes"`},
		{"network_mode: weird", "network_mode weird is not supported"},
		{"volumes: [{type: npipe, source: x, target: /x}]", "volumes type npipe is not supported"},
		{"labels: {lepton/x: y}", "reserved for lepton"},
		{"links: [other:alias]", "links alias other:alias is not supported"},
		{"network_mode: host\n    ports: [\"80\"]", "ports need a network"},
	} {
		p := project(t, "services:\n  s:\n    image: busybox\n    "+tc.yaml+"\n  other:\n    image: busybox\n")
		in, _ := plan(t, p, "s")
		_, err := servicePlan(*in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigHash(t *testing.T) {
	a := project(t, "services:\n  s:\n    image: busybox\n    scale: 2\n")
	b := project(t, "services:\n  s:\n    image: busybox\n    scale: 5\n")
	c := project(t, "services:\n  s:\n    image: busybox\n    command: [x]\n")
	if configHash(a.Services["s"]) != configHash(b.Services["s"]) {
		t.Error("the scale changed the hash")
	}
	if configHash(a.Services["s"]) == configHash(c.Services["s"]) {
		t.Error("the command did not change the hash")
	}
}
