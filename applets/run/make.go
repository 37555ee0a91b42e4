//go:build !windows

package run

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/volumes"
)

type (
	typeurlAny  = typeurl.Any
	containersT = containers.Container
)

// imageConfig is the part of an image's config that decides its command.
type imageConfig struct {
	Entrypoint   []string
	Cmd          []string
	StopSignal   string
	ExposedPorts map[string]struct{}
}

func readImageConfig(ctx context.Context, img containerd.Image) (imageConfig, error) {
	desc, err := img.Config(ctx)
	if err != nil {
		return imageConfig{}, err
	}
	b, err := img.ContentStore().ReaderAt(ctx, desc)
	if err != nil {
		return imageConfig{}, err
	}
	defer b.Close()
	buf := make([]byte, b.Size())
	if _, err := b.ReadAt(buf, 0); err != nil {
		return imageConfig{}, err
	}
	var ic ocispec.Image
	if err := json.Unmarshal(buf, &ic); err != nil {
		return imageConfig{}, err
	}
	return imageConfig{Entrypoint: ic.Config.Entrypoint, Cmd: ic.Config.Cmd, StopSignal: ic.Config.StopSignal, ExposedPorts: ic.Config.ExposedPorts}, nil
}

// createContainer makes the container the plan describes: it claims the
// name, locks (and if need be creates) the named volumes, writes the
// container's files and creates it in containerd. On any failure it undoes
// what it did; a process killed part-way leaves a claim that the next user
// of the name, or container prune, recognises as stale.
func (a *app) createContainer(ctx context.Context, c *containerd.Client, p *plan) (_ containerd.Container, err error) {
	// A lease naming this process keeps the image and the new snapshot
	// from the garbage collector until the container holds them; if lepton
	// is killed first, system check and image prune find it stale.
	ctx, done, err := leases.With(ctx, c, "run", nil)
	if err != nil {
		return nil, err
	}
	defer done(context.WithoutCancel(ctx))
	img, err := a.getImage(ctx, c, p.cfg.Image, p.cfg.Pull, p.cfg.Platform)
	if err != nil {
		return nil, err
	}
	ic, err := readImageConfig(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("read image config of %s: %w", p.cfg.Image, err)
	}
	if len(processArgs(p.cfg, ic)) == 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage(errNoEntrypoint.Error())
	}
	if p.cfg.StopSignal == "" {
		p.cfg.StopSignal = ic.StopSignal
	}
	names, err := a.names(ctx)
	if err != nil {
		return nil, err
	}
	id := newID()
	name := p.cfg.Name
	for tries := 0; ; tries++ {
		if name == "" {
			p.cfg.Name = randomName()
		}
		stale, err := names.Claim(ctx, c, p.cfg.Name, id)
		if err == nil {
			crash.Point("after-claim")
			if stale != "" {
				a.cleanLeftovers(ctx, c, stale)
			}
			break
		}
		if name != "" || !errdefs.IsAlreadyExists(err) || tries > 20 {
			return nil, err
		}
	}
	dir := a.g.ContainerDir(id)
	defer func() {
		if err != nil {
			cleanCtx := context.WithoutCancel(ctx)
			c.SnapshotService(defaults.DefaultSnapshotter).Remove(cleanCtx, id)
			os.RemoveAll(dir)
			names.Release(cleanCtx, p.cfg.Name, id)
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	hostname := p.cfg.Hostname
	if hostname == "" {
		hostname = id[:12]
	}
	var extraSpec []oci.SpecOpts
	if p.cfg.HostConfig.NetworkMode != "host" {
		base, err := writeEtcFiles(dir, p, hostname)
		if err != nil {
			return nil, err
		}
		if p.net != nil {
			if err := a.planNetwork(ctx, p, ic, dir, base, hostname); err != nil {
				return nil, err
			}
			if usesHooks(p.cfg) {
				self, err := a.self()
				if err != nil {
					return nil, err
				}
				extraSpec = append(extraSpec, withNetworkHooks(self, a.g.DataRoot, a.g.Namespace, dir))
			}
		}
	}

	vs, err := a.volumes(ctx)
	if err != nil {
		return nil, err
	}
	var result containerd.Container
	err = withVolumes(ctx, vs, p, func(volumeMounts map[string]string) error {
		mounts, err := ociMounts(p, volumeMounts, dir)
		if err != nil {
			return err
		}
		labels := map[string]string{}
		for k, v := range p.labels {
			labels[k] = v
		}
		labels[labelName] = p.cfg.Name
		if p.net != nil {
			labels[labelNetwork] = p.cfg.HostConfig.NetworkMode
		}
		labels[labelCommand] = truncate(strings.Join(processArgs(p.cfg, ic), " "), 1000)
		if p.cfg.StopSignal != "" {
			labels[labelStopSignal] = p.cfg.StopSignal
		}
		if t := p.cfg.HostConfig; t.AutoRemove {
			labels["lepton/auto-remove"] = "true"
		}
		for vname, dst := range volumeUsers(p, volumeMounts) {
			labels[volumes.UsedByLabel+vname] = dst
		}
		for k, v := range restartLabels(p.restart) {
			labels[k] = v
		}
		result, err = c.NewContainer(ctx, id,
			containerd.WithImage(img),
			containerd.WithNewSnapshot(id, img),
			containerd.WithRuntime("io.containerd.runc.v2", nil),
			containerd.WithNewSpec(append(specOpts(p, img, hostname, mounts, ic), extraSpec...)...),
			containerd.WithContainerLabels(labels),
			withConfig(p.cfg),
		)
		if err != nil {
			return fmt.Errorf("create container: %w", err)
		}
		crash.Point("after-create")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// withVolumes makes the named and anonymous volumes the plan mounts, then
// runs fn holding all their locks (in name order, so two creates never wait
// on each other crosswise) with a map of volume name to mountpoint.
func withVolumes(ctx context.Context, vs *volumes.Volumes, p *plan, fn func(map[string]string) error) error {
	var wanted []string
	for i := range p.mounts {
		m := &p.mounts[i]
		if m.kind != "volume" {
			continue
		}
		if m.src == "" {
			v, err := vs.Create(ctx, volumes.CreateOptions{})
			if err != nil {
				return err
			}
			m.src = v.Name
		} else if _, err := vs.Create(ctx, volumes.CreateOptions{Name: m.src}); err != nil && !errdefs.IsAlreadyExists(err) {
			return err
		}
		wanted = append(wanted, m.src)
	}
	sort.Strings(wanted)
	got := map[string]string{}
	var lock func(i int) error
	lock = func(i int) error {
		if i == len(wanted) {
			return fn(got)
		}
		if got[wanted[i]] != "" {
			return lock(i + 1)
		}
		return vs.Lock(ctx, wanted[i], func(v *volumes.Volume) error {
			got[v.Name] = v.Mountpoint
			return lock(i + 1)
		})
	}
	return lock(0)
}

func volumeUsers(p *plan, mountpoints map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range p.mounts {
		if m.kind == "volume" {
			out[m.src] = m.dst
		}
	}
	return out
}

func ociMounts(p *plan, volumeMounts map[string]string, dir string) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range p.mounts {
		mode := "rw"
		if m.readonly {
			mode = "ro"
		}
		switch m.kind {
		case "bind":
			if _, err := os.Stat(m.src); err != nil {
				if !m.create || !os.IsNotExist(err) {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bind source %s: %v", m.src, err))
				}
				if err := os.MkdirAll(m.src, 0o755); err != nil {
					return nil, fmt.Errorf("create bind source %s: %w", m.src, err)
				}
			}
			out = append(out, specs.Mount{Destination: m.dst, Type: "bind", Source: m.src, Options: []string{"rbind", mode}})
		case "volume":
			out = append(out, specs.Mount{Destination: m.dst, Type: "bind", Source: volumeMounts[m.src], Options: []string{"rbind", mode}})
		case "tmpfs":
			out = append(out, specs.Mount{Destination: m.dst, Type: "tmpfs", Source: "tmpfs", Options: m.options})
		}
	}
	if p.cfg.HostConfig.NetworkMode != "host" {
		for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
			src := filepath.Join(dir, f)
			if _, err := os.Stat(src); err == nil {
				out = append(out, specs.Mount{Destination: "/etc/" + f, Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
			}
		}
	}
	return out, nil
}

// planNetwork checks that the container's network exists (making the
// default one on first use) and that its ports are free, and writes its
// network plan for each start of its task to follow.
func (a *app) planNetwork(ctx context.Context, p *plan, ic imageConfig, dir, hostsBase, hostname string) error {
	nets, err := a.networks(ctx)
	if err != nil {
		return err
	}
	mode := p.cfg.HostConfig.NetworkMode
	if mode == networks.DefaultName {
		_, err = nets.Default(ctx)
	} else if _, err = nets.Get(ctx, mode); errdefs.IsNotFound(err) {
		err = errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found: create it with 'lepton network create %s', or see 'lepton network ls'", mode, mode))
	}
	if err != nil {
		return err
	}
	if p.publishAll {
		exposed := make([]string, 0, len(ic.ExposedPorts))
		for k := range ic.ExposedPorts {
			exposed = append(exposed, k)
		}
		sort.Strings(exposed)
		for _, k := range exposed {
			ports, err := networks.ParsePublish(k)
			if err != nil {
				return fmt.Errorf("image %s exposes %q: %w", p.cfg.Image, k, err)
			}
			p.net.Ports = append(p.net.Ports, ports...)
		}
	}
	if err := networks.CheckPorts(p.net.Ports); err != nil {
		return err
	}
	p.net.Name, p.net.Hostname, p.net.HostsBase = p.cfg.Name, hostname, hostsBase
	return networks.WritePlan(dir, p.net)
}

// usesHooks says whether a container joins and leaves its networks through
// OCI hooks rather than from the lepton that starts and stops it: only
// containers that containerd's restart monitor restarts need them, and an
// exec of lepton from runc costs some 30ms at each start and each end.
func usesHooks(cfg *Config) bool {
	r := cfg.HostConfig.RestartPolicy.Name
	return r != "" && r != "no"
}

// onNetwork says whether a container is on bridge networks (not none, not
// host, and not one made by another tool).
func onNetwork(cfg *Config) bool {
	switch cfg.HostConfig.NetworkMode {
	case "", "none", "host":
		return false
	}
	return true
}

// joinNetworks plugs a created task into its networks, unless runc's hooks do.
func (a *app) joinNetworks(ctx context.Context, id string, cfg *Config, pid uint32) error {
	if !onNetwork(cfg) || usesHooks(cfg) {
		return nil
	}
	nets, err := a.networks(ctx)
	if err != nil {
		return err
	}
	return nets.Attach(ctx, id, int(pid), a.g.ContainerDir(id))
}

// leaveNetworks frees what a container's ended task held on its networks.
// Leaving twice, or a network never joined, is fine.
func (a *app) leaveNetworks(ctx context.Context, id string, cfg *Config) {
	if !onNetwork(cfg) {
		return
	}
	if nets, err := a.networks(ctx); err == nil {
		if err := nets.Detach(context.WithoutCancel(ctx), id); err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: leave networks of %s: %v\n", a.env.Name, id[:12], err)
		}
	}
}

// withNetworkHooks makes runc run "lepton-network __hook up" once the
// container's namespaces exist and "__hook down" once it is gone, so the
// network follows every start of the task, restarts by containerd's restart
// monitor included, with no lepton process waiting around.
func withNetworkHooks(self, dataRoot, namespace, dir string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Hooks == nil {
			s.Hooks = &specs.Hooks{}
		}
		timeout := 60
		hook := func(stage string) specs.Hook {
			return specs.Hook{Path: self, Timeout: &timeout, Args: []string{
				"lepton-network", "--data-root", dataRoot, "--namespace", namespace, "__hook", stage, dir}}
		}
		s.Hooks.CreateRuntime = append(s.Hooks.CreateRuntime, hook("up"))
		s.Hooks.Poststop = append(s.Hooks.Poststop, hook("down"))
		return nil
	}
}

// writeEtcFiles writes the container's /etc/hosts and /etc/resolv.conf,
// as docker does, and returns the hosts file's lines. On a network the
// hooks add the container's own address and its peers' after them.
func writeEtcFiles(dir string, p *plan, hostname string) (string, error) {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, h := range p.cfg.HostConfig.ExtraHosts {
		host, ip, _ := strings.Cut(h, ":")
		fmt.Fprintf(&hosts, "%s\t%s\n", ip, host)
	}
	if p.net == nil {
		fmt.Fprintf(&hosts, "127.0.1.1\t%s\n", hostname)
	}
	resolv := ""
	if len(p.cfg.HostConfig.DNS) > 0 {
		for _, ns := range p.cfg.HostConfig.DNS {
			resolv += "nameserver " + ns + "\n"
		}
	} else if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		resolv = string(b)
		if p.net != nil {
			resolv = withoutLoopbackServers(resolv)
		}
	}
	for name, body := range map[string]string{"hosts": hosts.String(), "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	return hosts.String(), nil
}

// withoutLoopbackServers drops nameservers on the host's loopback, which a
// container in its own network namespace cannot reach (a local caching
// resolver); if none is left it falls back to public ones, as docker does.
func withoutLoopbackServers(resolv string) string {
	var out []string
	servers := 0
	for _, line := range strings.Split(resolv, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.IsLoopback() {
				continue
			}
			servers++
		}
		out = append(out, line)
	}
	s := strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	if servers == 0 {
		s += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
	}
	return s
}

// cleanLeftovers removes what a lepton killed while creating container id
// may have left: its snapshot and its directory.
func (a *app) cleanLeftovers(ctx context.Context, c *containerd.Client, id string) {
	c.SnapshotService(defaults.DefaultSnapshotter).Remove(ctx, id)
	os.RemoveAll(a.g.ContainerDir(id))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var _ = oci.WithTTY
