//go:build !windows

package run

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type inspectCmd struct {
	cli.Command
	Format string     `short:"f" long:"format" value-name:"<FORMAT>" description:"Go template applied to each container (default: a JSON array)"`
	Args   targetArgs `positional-args:"yes"`
}

// inspectItem is docker's container inspect shape (the fields lepton has).
type inspectItem struct {
	Id              string // docker's spelling, so templates written for docker work
	Created         string
	Path            string
	Args            []string
	State           inspectState
	Image           string
	Name            string
	LogPath         string
	HostConfig      containers.HostConfig
	Mounts          []inspectMount
	Config          inspectConfig
	NetworkSettings networkSettings
}

type inspectState struct {
	Status     string
	Running    bool
	Paused     bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	Health     *containers.Health `json:",omitempty"`
}

type inspectMount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	RW          bool
}

type inspectConfig struct {
	Hostname     string
	User         string
	Tty          bool
	OpenStdin    bool
	Env          []string
	Cmd          []string
	Image        string
	WorkingDir   string
	Entrypoint   []string
	Labels       map[string]string
	StopSignal   string                        `json:",omitempty"`
	StopTimeout  *int                          `json:",omitempty"`
	Healthcheck  *dockerspec.HealthcheckConfig `json:",omitempty"`
	Domainname   string                        `json:",omitempty"`
	ExposedPorts map[string]struct{}           `json:",omitempty"`
	MacAddress   string                        `json:",omitempty"`
}

const zeroTime = "0001-01-01T00:00:00Z"

func (ic *inspectCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := cli.CheckFormat(ic.Format); err != nil {
		return err
	}
	var items []inspectItem
	var idx netIndex // read once, and only if a running container is on a network
	err := a.forEach(ctx, append(ic.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		it, err := a.inspect(ctx, cs, info, &idx)
		if err != nil {
			return "", err
		}
		items = append(items, it)
		return "", nil
	})
	return cli.PrintInspect(a.env.Stdout, ic.Format, items, err)
}

func (a *app) inspect(ctx context.Context, cs *containers.Containers, info ctrs.Container, idx *netIndex) (inspectItem, error) {
	c := cs.Client()
	cfg := containers.ConfigOf(info)
	var spec specs.Spec
	if info.Spec != nil {
		if err := json.Unmarshal(info.Spec.GetValue(), &spec); err != nil {
			return inspectItem{}, fmt.Errorf("container %s: bad spec: %w", info.ID, err)
		}
	}
	resp, err := c.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: info.ID})
	err = errgrpc.ToNative(err)
	if err != nil && !errdefs.IsNotFound(err) {
		return inspectItem{}, err
	}
	st := containers.StateOf(info, nil)
	if err == nil && resp != nil {
		st = containers.StateOf(info, resp.Process)
	}
	it := inspectItem{
		Id: info.ID, Created: info.CreatedAt.UTC().Format(time.RFC3339Nano), Image: info.Image,
		Name: "/" + cfg.Name, HostConfig: cfg.HostConfig,
		LogPath: cs.LogPath(info.ID),
		State: inspectState{
			Status: st.Status, Running: st.Status == "running" || st.Status == "paused", Paused: st.Status == "paused",
			Pid: int(st.Pid), ExitCode: int(st.ExitCode), Error: info.Labels[containers.LabelError], StartedAt: zeroTime, FinishedAt: zeroTime,
		},
		Config: inspectConfig{
			Hostname: spec.Hostname, User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, Cmd: cfg.Cmd,
			Image: cfg.Image, WorkingDir: cfg.WorkingDir, Entrypoint: cfg.Entrypoint, StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout,
			Healthcheck: cfg.Healthcheck, Domainname: cfg.Domainname, ExposedPorts: cfg.ExposedPorts, MacAddress: cfg.MacAddress,
			Labels: map[string]string{},
		},
	}
	if containers.HasHealthcheck(cfg.Healthcheck) {
		it.State.Health = containers.ReadHealth(cs.Dir(info.ID))
		if it.State.Health == nil {
			it.State.Health = &containers.Health{Status: containers.HealthStarting, Log: []containers.HealthResult{}}
		}
	}
	if *idx == nil && it.State.Running && info.Labels[containers.LabelNetwork] != "" {
		*idx = readNetIndex(ctx, cs.Networks())
	}
	it.NetworkSettings = idx.settings(info.ID, cfg.HostConfig.PortBindings)
	if t := info.Labels[containers.LabelStartedAt]; t != "" {
		it.State.StartedAt = t
	}
	if !st.FinishedAt.IsZero() {
		it.State.FinishedAt = st.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	for k, v := range info.Labels {
		if !isInternalLabel(k) {
			it.Config.Labels[k] = v
		}
	}
	if spec.Process != nil {
		it.Config.Env = spec.Process.Env
		if len(spec.Process.Args) > 0 {
			it.Path, it.Args = spec.Process.Args[0], spec.Process.Args[1:]
		}
		if it.Config.WorkingDir == "" {
			it.Config.WorkingDir = spec.Process.Cwd
		}
	}
	if it.Args == nil {
		it.Args = []string{}
	}
	volumeOf := map[string]string{}
	for k, v := range info.Labels {
		if name, ok := strings.CutPrefix(k, "lepton.volume/"); ok {
			volumeOf[v] = name
		}
	}
	it.Mounts = []inspectMount{}
	dir := cs.Dir(info.ID)
	for _, m := range spec.Mounts {
		if defaultMounts[m.Destination] || m.Destination == containers.InitPath || filepath.Dir(m.Source) == dir {
			continue // the runtime's own mounts and lepton's /etc files
		}
		im := inspectMount{Type: m.Type, Source: m.Source, Destination: m.Destination, RW: !hasOpt(m.Options, "ro")}
		if name, ok := volumeOf[m.Destination]; ok {
			im.Type, im.Name, im.Driver = "volume", name, "local"
		}
		it.Mounts = append(it.Mounts, im)
	}
	return it, nil
}

// defaultMounts are the mounts every container gets from containerd's
// default spec; inspect's Mounts lists only the user's.
var defaultMounts = map[string]bool{
	"/proc": true, "/dev": true, "/dev/pts": true, "/dev/shm": true, "/dev/mqueue": true,
	"/sys": true, "/sys/fs/cgroup": true, "/run": true,
}

func hasOpt(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}
