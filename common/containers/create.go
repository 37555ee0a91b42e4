//go:build !windows

package containers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/rootless"
	"github.com/lepton-project/lepton/common/volumes"
)

// Plan is everything Create needs: the Config that inspect shows, and what
// the command line parsed out of it, checked before anything is made.
type Plan struct {
	Config
	// Mounts are the bind mounts, volumes and tmpfs mounts, in order.
	Mounts []Mount
	// Network is how the container joins its network. Nil with a
	// NetworkMode that names a network means that network with no
	// published ports; NetworkMode "", "none" or "host" take no plan.
	Network *networks.Plan
	// HealthFromFlags says Healthcheck holds only what the command line
	// gave: the image's HEALTHCHECK fills in the rest (docker merges them).
	HealthFromFlags bool
	// extraHosts is ExtraHosts with host-gateway resolved.
	extraHosts []string
	// anonymous are the anonymous volumes Create made, which a failed
	// Create removes again.
	anonymous []string
}

// Mount is one -v, --mount or --tmpfs.
type Mount struct {
	Type     string // bind, volume or tmpfs
	Source   string // host path or volume name ("" for an anonymous volume)
	Target   string // absolute path in the container
	ReadOnly bool
	Options  []string // tmpfs options (size=, mode=, ...)
	// CreateSource makes a missing bind source directory, as -v does
	// (--mount refuses one).
	CreateSource bool
	// NoCopy leaves a new volume empty instead of filling it with what
	// the image has at Target.
	NoCopy bool
}

// HostGateway in an extra host (HOST:host-gateway) stands for the host's
// address on the container's network, as in docker.
const HostGateway = "host-gateway"

// CreateOption changes how Create works.
type CreateOption func(*createOptions)

type createOptions struct{ forStart bool }

// ForStart keeps the new container marked as being made until the Start
// that follows ends, so prune and system check leave it alone in between
// and a kill before it ran rolls the whole run back.
func ForStart() CreateOption { return func(o *createOptions) { o.forStart = true } }

// ErrNoCommand is Create's error for an image with nothing to run.
var ErrNoCommand = errdefs.ErrInvalidArgument.WithMessage("no command: the image has no entrypoint or CMD, so give one after the image name")

// imageConfig is the part of an image's config that decides its command.
type imageConfig struct {
	Entrypoint   []string
	Cmd          []string
	StopSignal   string
	ExposedPorts map[string]struct{}
	Volumes      map[string]struct{}
	Healthcheck  *dockerspec.HealthcheckConfig
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
	// Docker's extension of the OCI config: HEALTHCHECK lives there.
	var ic dockerspec.DockerOCIImage
	if err := json.Unmarshal(buf, &ic); err != nil {
		return imageConfig{}, err
	}
	return imageConfig{Entrypoint: ic.Config.Entrypoint, Cmd: ic.Config.Cmd, StopSignal: ic.Config.StopSignal, ExposedPorts: ic.Config.ExposedPorts, Volumes: ic.Config.Volumes, Healthcheck: ic.Config.Healthcheck}, nil
}

// Create makes the container p describes and returns it, not started. It
// pulls the image if p.Pull says so, claims the name (a random one if p
// has none), makes missing named volumes, writes the container's /etc
// files and network plan, and creates it in containerd. On any failure it
// undoes what it did; a process killed part-way leaves a claim that the
// next user of the name, prune or system check recognises as stale.
// Create fills in what p left to it: a random Name, the image's stop
// signal, NetworkMode "none" for "".
func (d *Containers) Create(ctx context.Context, p *Plan, opts ...CreateOption) (_ containerd.Container, err error) {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := d.client
	cfg := &p.Config
	if cfg.HostConfig.NetworkMode == "" {
		cfg.HostConfig.NetworkMode = "none"
	}
	if p.Network == nil && onNetwork(cfg) {
		p.Network = &networks.Plan{Networks: []networks.Attachment{{Network: cfg.HostConfig.NetworkMode}}}
	}
	if p.Network != nil && !onNetwork(cfg) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("a network plan needs a network: NetworkMode is %q", cfg.HostConfig.NetworkMode))
	}
	// A lease naming this process keeps the image and the new snapshot
	// from the garbage collector until the container holds them; if lepton
	// is killed first, system check and image prune find it stale.
	ctx, done, err := leases.With(ctx, c, "run", nil)
	if err != nil {
		return nil, err
	}
	defer done(context.WithoutCancel(ctx))
	img, err := d.image(ctx, cfg.Image, cfg.Pull, cfg.Platform)
	if err != nil {
		return nil, err
	}
	ic, err := readImageConfig(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("read image config of %s: %w", cfg.Image, err)
	}
	if len(processArgs(cfg, ic)) == 0 {
		return nil, ErrNoCommand
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	cfg.Healthcheck = mergeHealthcheck(cfg.Healthcheck, p.HealthFromFlags, ic.Healthcheck)
	imageVolumes(p, ic)
	id := NewID()
	name := cfg.Name
	for tries := 0; ; tries++ {
		if name == "" {
			cfg.Name = randomName()
		}
		stale, err := d.names.Claim(ctx, c, cfg.Name, id)
		if err == nil {
			crash.Point("after-claim")
			if stale != "" {
				d.cleanLeftovers(ctx, stale)
			}
			break
		}
		if name != "" || !errdefs.IsAlreadyExists(err) || tries > 20 {
			return nil, err
		}
	}
	dir := d.Dir(id)
	defer func() {
		cleanCtx := context.WithoutCancel(ctx)
		if err != nil {
			c.SnapshotService(defaults.DefaultSnapshotter).Remove(cleanCtx, id)
			os.RemoveAll(dir)
			users := volumes.ContainerUsers(c)
			for _, v := range p.anonymous {
				d.vols.Remove(cleanCtx, v, users) // unused, as no container was made
			}
			d.names.Release(cleanCtx, cfg.Name, id)
		} else if !o.forStart {
			d.names.Done(cleanCtx, cfg.Name, id)
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := d.writeMonitorConfig(dir, cfg); err != nil {
		return nil, err
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = id[:12]
		if cfg.HostConfig.NetworkMode == "host" {
			hostname, _ = os.Hostname() // docker keeps the host's name there
		}
	}
	if p.extraHosts, err = d.resolveHostGateway(ctx, cfg); err != nil {
		return nil, err
	}
	var extraSpec []oci.SpecOpts
	base, err := writeEtcFiles(dir, p, hostname)
	if err != nil {
		return nil, err
	}
	if cfg.HostConfig.NetworkMode != "host" {
		if p.Network != nil {
			if err := d.planNetwork(ctx, p, ic, dir, base, hostname); err != nil {
				return nil, err
			}
			if cfg.HostConfig.RestartPolicy.Restarts() {
				self, err := d.loggerPath()
				if err != nil {
					return nil, err
				}
				extraSpec = append(extraSpec, withNetworkHooks(self, d.dataRoot, d.namespace, dir))
			}
		}
	}
	initPath := ""
	if hc := cfg.HostConfig; hc.Init != nil && *hc.Init {
		if initPath, err = d.initPath(); err != nil {
			return nil, err
		}
	}
	sopts, err := specOpts(p, img, hostname, ic, initPath)
	if err != nil {
		return nil, err
	}
	nsOpts, err := d.namespaceOpts(ctx, p, dir) // --pid, --ipc, --uts, --network container:, --volumes-from
	if err != nil {
		return nil, err
	}
	sopts = append(sopts, nsOpts...)
	var result containerd.Container
	err = withVolumes(ctx, d.vols, p, func(volumeMounts map[string]string) error {
		if err := d.copyUp(ctx, img, p, volumeMounts); err != nil {
			return err
		}
		mounts, err := ociMounts(p, volumeMounts, dir)
		if err != nil {
			return err
		}
		labels := map[string]string{}
		for k, v := range cfg.Labels {
			labels[k] = v
		}
		labels[LabelName] = cfg.Name
		if p.Network != nil {
			labels[LabelNetwork] = cfg.HostConfig.NetworkMode
		}
		labels[LabelCommand] = truncate(strings.Join(processArgs(cfg, ic), " "), 1000)
		if cfg.StopSignal != "" {
			labels[LabelStopSignal] = cfg.StopSignal
		}
		if cfg.StopTimeout != nil {
			labels[LabelStopTimeout] = strconv.Itoa(*cfg.StopTimeout)
		}
		if cfg.HostConfig.AutoRemove {
			labels[LabelAutoRemove] = "true"
		}
		if HasHealthcheck(cfg.Healthcheck) {
			labels[LabelHealthcheck] = "true"
		}
		for _, m := range p.Mounts {
			if m.Type == "volume" {
				labels[volumes.UsedByLabel+m.Source] = m.Target
			}
		}
		for k, v := range cfg.HostConfig.RestartPolicy.labels() {
			labels[k] = v
		}
		result, err = c.NewContainer(ctx, id,
			containerd.WithImage(img),
			containerd.WithNewSnapshot(id, img),
			containerd.WithRuntime(cmp.Or(cfg.HostConfig.Runtime, "io.containerd.runc.v2"), nil),
			containerd.WithNewSpec(append(append(sopts, oci.WithMounts(mounts)), extraSpec...)...),
			containerd.WithContainerLabels(labels),
			withConfig(cfg),
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

// image finds an image in the local store, unpacked for the default
// snapshotter, pulling it first as pull says (missing, always, never).
func (d *Containers) image(ctx context.Context, ref, pull, platform string) (containerd.Image, error) {
	c := d.client
	name, err := registry.Normalize(ref)
	if err != nil {
		return nil, err
	}
	if pull == "" {
		pull = "missing"
	}
	var img containerd.Image
	if pull != "always" {
		var found []images.Image
		if found, err = registry.Find(ctx, c, ref); err == nil {
			img = containerd.NewImage(c, found[0])
		}
	}
	if pull == "always" || errdefs.IsNotFound(err) && pull == "missing" {
		if pull == "missing" {
			fmt.Fprintf(d.progress, "Unable to find image '%s' locally\n", ref)
		}
		img, err = registry.Pull(ctx, c, name, registry.PullOptions{Registry: d.registry, Platform: platform, Out: d.progress, TTY: d.tty})
		if err != nil {
			return nil, err
		}
	}
	if errdefs.IsNotFound(err) {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such image: %s (--pull never: pull it first with lepton pull)", ref))
	}
	if err != nil {
		return nil, err
	}
	ok, err := img.IsUnpacked(ctx, defaults.DefaultSnapshotter)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := img.Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", ref, err)
		}
	}
	return img, nil
}

// withVolumes makes the named and anonymous volumes the plan mounts, then
// runs fn holding all their locks (in name order, so two creates never wait
// on each other crosswise) with a map of volume name to mountpoint.
func withVolumes(ctx context.Context, vs *volumes.Volumes, p *Plan, fn func(map[string]string) error) error {
	var wanted []string
	for i := range p.Mounts {
		m := &p.Mounts[i]
		if m.Type != "volume" {
			continue
		}
		if m.Source == "" {
			v, err := vs.Create(ctx, volumes.CreateOptions{})
			if err != nil {
				return err
			}
			m.Source = v.Name
			p.anonymous = append(p.anonymous, v.Name)
		} else if _, err := vs.Create(ctx, volumes.CreateOptions{Name: m.Source}); err != nil && !errdefs.IsAlreadyExists(err) {
			return err
		}
		wanted = append(wanted, m.Source)
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

func ociMounts(p *Plan, volumeMounts map[string]string, dir string) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range p.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		switch m.Type {
		case "bind":
			if _, err := os.Stat(m.Source); err != nil {
				if !m.CreateSource || !os.IsNotExist(err) {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bind source %s: %v", m.Source, err))
				}
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, fmt.Errorf("create bind source %s: %w", m.Source, err)
				}
			}
			out = append(out, specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: []string{"rbind", mode}})
		case "volume":
			out = append(out, specs.Mount{Destination: m.Target, Type: "bind", Source: volumeMounts[m.Source], Options: []string{"rbind", mode}})
		case "tmpfs":
			out = append(out, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: m.Options})
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("mount at %s: type %q is not bind, volume or tmpfs", m.Target, m.Type))
		}
	}
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		src := filepath.Join(dir, f)
		if _, err := os.Stat(src); err == nil {
			out = append(out, specs.Mount{Destination: "/etc/" + f, Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
		}
	}
	return out, nil
}

// planNetwork checks that the container's network exists (making the
// default one on first use) and that its ports are free, and writes its
// network plan for each start of its task to follow.
func (d *Containers) planNetwork(ctx context.Context, p *Plan, ic imageConfig, dir, hostsBase, hostname string) error {
	mode := p.HostConfig.NetworkMode
	var err error
	if mode == networks.DefaultName {
		_, err = d.nets.Default(ctx)
	} else if _, err = d.nets.Get(ctx, mode); errdefs.IsNotFound(err) {
		err = errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found: create it with 'lepton network create %s', or see 'lepton network ls'", mode, mode))
	}
	if err != nil {
		return err
	}
	if p.HostConfig.PublishAllPorts {
		exposed := make([]string, 0, len(ic.ExposedPorts)+len(p.ExposedPorts))
		for k := range ic.ExposedPorts {
			exposed = append(exposed, k)
		}
		for k := range p.ExposedPorts { // --expose
			if _, ok := ic.ExposedPorts[k]; !ok {
				exposed = append(exposed, k)
			}
		}
		sort.Strings(exposed)
		for _, k := range exposed {
			ports, err := networks.ParsePublish(k)
			if err != nil {
				return fmt.Errorf("image %s exposes %q: %w", p.Image, k, err)
			}
			p.Network.Ports = append(p.Network.Ports, ports...)
		}
	}
	if err := networks.CheckPorts(p.Network.Ports); err != nil {
		return err
	}
	p.Network.Name, p.Network.Hostname, p.Network.HostsBase = p.Name, hostname, hostsBase
	return networks.WritePlan(dir, p.Network)
}

// onNetwork says whether a container is on bridge networks (not none, not
// host, not another container's network, and not one made by another
// tool).
func onNetwork(cfg *Config) bool {
	switch cfg.HostConfig.NetworkMode {
	case "", "none", "host":
		return false
	}
	return !strings.HasPrefix(cfg.HostConfig.NetworkMode, "container:")
}

// withNetworkHooks makes runc run "lepton-network __hook up" once the
// container's namespaces exist and "__hook down" once it is gone, so the
// network follows every start of the task, restarts by containerd's restart
// monitor included, with no lepton process waiting around. Only containers
// with a restart policy need them: an exec of lepton from runc costs some
// 30ms at each start and each end.
func withNetworkHooks(self, dataRoot, namespace, dir string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Hooks == nil {
			s.Hooks = &specs.Hooks{}
		}
		timeout := 60
		var env []string
		if d, ok := rootless.Current(); ok {
			// runc runs hooks with only the environment the spec gives:
			// this one says which daemon's bridges they work on.
			env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, d.HookEnv()...)
		}
		hook := func(stage string) specs.Hook {
			return specs.Hook{Path: self, Timeout: &timeout, Env: env, Args: []string{
				"lepton-network", "--data-root", dataRoot, "--namespace", namespace, "__hook", stage, dir}}
		}
		s.Hooks.CreateRuntime = append(s.Hooks.CreateRuntime, hook("up"))
		s.Hooks.Poststop = append(s.Hooks.Poststop, hook("down"))
		return nil
	}
}

// writeEtcFiles writes the container's /etc/hosts, /etc/resolv.conf and
// /etc/hostname, as docker does, and returns the hosts file's lines. On a
// network the hooks add the container's own address and its peers' after
// them. With the host's network the container gets the host's hosts and
// resolv.conf (plus --add-host and --dns).
func writeEtcFiles(dir string, p *Plan, hostname string) (string, error) {
	files := map[string]string{"hostname": hostname + "\n"}
	host := p.HostConfig.NetworkMode == "host"
	var hosts strings.Builder
	if b, err := os.ReadFile("/etc/hosts"); host && err == nil {
		hosts.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			hosts.WriteByte('\n')
		}
	} else {
		hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	}
	for _, h := range p.extraHosts {
		host, ip, _ := strings.Cut(h, ":")
		fmt.Fprintf(&hosts, "%s\t%s\n", ip, host)
	}
	if p.Network == nil && !host {
		fmt.Fprintf(&hosts, "127.0.1.1\t%s\n", hostname)
	}
	resolv := ""
	if len(p.HostConfig.DNS) > 0 {
		for _, ns := range p.HostConfig.DNS {
			resolv += "nameserver " + ns + "\n"
		}
	} else if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		resolv = string(b)
		if p.Network != nil {
			resolv = withoutLoopbackServers(resolv)
		}
	}
	if hc := &p.HostConfig; len(hc.DNSSearch)+len(hc.DNSOptions) > 0 {
		resolv = withSearchAndOptions(resolv, hc.DNSSearch, hc.DNSOptions)
	}
	files["hosts"], files["resolv.conf"] = hosts.String(), resolv
	for name, body := range files {
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
func (d *Containers) cleanLeftovers(ctx context.Context, id string) {
	d.client.SnapshotService(defaults.DefaultSnapshotter).Remove(ctx, id)
	os.RemoveAll(d.Dir(id))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var (
	nameAdjectives = []string{"brisk", "calm", "dapper", "eager", "fuzzy", "gentle", "hardy", "jolly", "keen", "lively", "mellow", "nimble", "plucky", "quiet", "rapid", "steady", "sunny", "tidy", "vivid", "witty", "zesty", "bold", "cosmic", "daring"}
	nameNouns      = []string{"muon", "tau", "quark", "gluon", "boson", "photon", "pion", "kaon", "neutrino", "electron", "proton", "neutron", "hadron", "meson", "fermion", "axion", "graviton", "positron", "baryon", "lambda", "sigma", "omega", "xi", "eta"}
)

func randomName() string {
	return nameAdjectives[rand.IntN(len(nameAdjectives))] + "_" + nameNouns[rand.IntN(len(nameNouns))] + strconv.Itoa(rand.IntN(1000))
}

// resolveHostGateway puts the host's address on the container's network
// (the default network's, off bridge networks) in place of host-gateway in
// --add-host, as docker does.
func (d *Containers) resolveHostGateway(ctx context.Context, cfg *Config) ([]string, error) {
	out := slices.Clone(cfg.HostConfig.ExtraHosts)
	for i, h := range out {
		name, ip, _ := strings.Cut(h, ":")
		if ip != HostGateway {
			continue
		}
		var n *networks.Network
		var err error
		if onNetwork(cfg) && cfg.HostConfig.NetworkMode != networks.DefaultName {
			n, err = d.nets.Get(ctx, cfg.HostConfig.NetworkMode)
		} else {
			n, err = d.nets.Default(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("--add-host %s: find the host's address: %w", h, err)
		}
		out[i] = name + ":" + n.Gateway
	}
	return out, nil
}
