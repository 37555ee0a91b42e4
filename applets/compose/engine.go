//go:build !windows

package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"strings"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/volumes"
)

// engine brings a project's services to what its file says, as up,
// create and run need: networks and volumes first, then each service once
// the ones it depends on are as their depends_on conditions ask, in
// parallel as the graph allows.
type engine struct {
	a  *app
	cs *containers.Containers
	p  *types.Project

	forceRecreate, noRecreate, noStart, renewAnon bool
	stopTimeout                                   *int

	existing []member // the project's containers when the command began

	mu      sync.Mutex
	current map[string][]string // service → IDs of its containers now
	changed map[string]bool     // services this command made containers of
	created []string            // containers this command made anew, which a failure removes
	madeNet []string            // networks this command made
	madeVol []string            // volumes this command made
}

func (a *app) newEngine(ctx context.Context, cs *containers.Containers, p *types.Project) (*engine, error) {
	ms, err := members(ctx, cs.Client(), p.Name, false)
	if err != nil {
		return nil, err
	}
	return &engine{a: a, cs: cs, p: p, existing: ms, current: map[string][]string{}, changed: map[string]bool{}}, nil
}

func (e *engine) say(name, what string) { e.a.progress("Container %s  %s", name, what) }

// resources makes the project's networks and volumes that services in
// names use and that do not exist yet; external ones must exist.
func (e *engine) resources(ctx context.Context, names []string) error {
	usedNet, usedVol := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		s := e.p.Services[n]
		for k := range s.Networks {
			usedNet[k] = true
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				usedVol[v.Source] = true
			}
		}
	}
	nets := e.cs.Networks()
	for _, k := range sortedKeys(usedNet) {
		cfg, ok := e.p.Networks[k]
		if !ok {
			continue // servicePlan says which service names it
		}
		if _, err := nets.Get(ctx, cfg.Name); err == nil {
			continue
		} else if !errdefs.IsNotFound(err) {
			return err
		}
		if cfg.External {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s is declared external but does not exist: make it with lepton network create %s", cfg.Name, cfg.Name))
		}
		o, err := networkOptions(e.p.Name, k, cfg)
		if err != nil {
			return err
		}
		if _, err := nets.Create(ctx, o); err != nil && !errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("create network %s: %w", cfg.Name, err)
		} else if err == nil {
			e.madeNet = append(e.madeNet, cfg.Name)
			e.a.progress("Network %s  Created", cfg.Name)
		}
	}
	vols := e.cs.Volumes()
	for _, k := range sortedKeys(usedVol) {
		cfg, ok := e.p.Volumes[k]
		if !ok {
			continue
		}
		if _, err := vols.Get(ctx, cfg.Name); err == nil {
			continue
		} else if !errdefs.IsNotFound(err) {
			return err
		}
		if cfg.External {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("volume %s is declared external but does not exist: make it with lepton volume create %s", cfg.Name, cfg.Name))
		}
		if len(cfg.DriverOpts) > 0 {
			return refuse("volumes."+k+".driver_opts", "", "lepton's local driver keeps a plain directory")
		}
		labels := map[string]string{labelProject: e.p.Name, labelVolume: k, labelVersion: "lepton"}
		for lk, lv := range cfg.Labels {
			labels[lk] = lv
		}
		if _, err := vols.Create(ctx, volumes.CreateOptions{Name: cfg.Name, Driver: cfg.Driver, Labels: labels}); err != nil && !errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("create volume %s: %w", cfg.Name, err)
		} else if err == nil {
			e.madeVol = append(e.madeVol, cfg.Name)
			e.a.progress("Volume %s  Created", cfg.Name)
		}
	}
	return nil
}

func networkOptions(project, key string, cfg types.NetworkConfig) (networks.CreateOptions, error) {
	o := networks.CreateOptions{Name: cfg.Name, Driver: cfg.Driver, Internal: cfg.Internal,
		Labels: map[string]string{labelProject: project, labelNetwork: key, labelVersion: "lepton"}}
	for lk, lv := range cfg.Labels {
		o.Labels[lk] = lv
	}
	if o.Driver != "" && o.Driver != "bridge" {
		return o, refuse("networks."+key+".driver "+o.Driver, "", "lepton makes bridge networks")
	}
	if len(cfg.DriverOpts) > 0 || cfg.EnableIPv6 != nil && *cfg.EnableIPv6 {
		return o, refuse("networks."+key+" driver_opts and enable_ipv6", "", "lepton's bridges are IPv4 with no options")
	}
	if len(cfg.Ipam.Options) > 0 || cfg.EnableIPv4 != nil && !*cfg.EnableIPv4 {
		return o, refuse("networks."+key+" ipam.options and enable_ipv4: false", "", "lepton's bridges are IPv4 with lepton's own address allocator")
	}
	if cfg.Ipam.Driver != "" && cfg.Ipam.Driver != "default" {
		return o, refuse("networks."+key+".ipam.driver "+cfg.Ipam.Driver, "", "lepton has its own address allocator")
	}
	switch len(cfg.Ipam.Config) {
	case 0:
	case 1:
		c := cfg.Ipam.Config[0]
		if c == nil {
			break
		}
		o.Subnet, o.Gateway, o.IPRange = c.Subnet, c.Gateway, c.IPRange
		if len(c.AuxiliaryAddresses) > 0 {
			return o, refuse("networks."+key+".ipam.config.aux_addresses", "", "lepton reserves only the gateway")
		}
	default:
		return o, refuse("networks."+key+": more than one ipam config", "", "a lepton network has one IPv4 subnet")
	}
	return o, nil
}

// up converges the services in names (which must hold their
// dependencies unless noDeps), in dependency order.
func (e *engine) up(ctx context.Context, names []string, noDeps bool) error {
	sub := *e.p
	sub.Services = types.Services{}
	for _, n := range names {
		s := e.p.Services[n]
		if noDeps {
			s.DependsOn = nil
		}
		sub.Services[n] = s
	}
	return graph.InDependencyOrder(ctx, &sub, func(ctx context.Context, name string, s types.ServiceConfig) error {
		for _, dep := range sortedKeys(s.DependsOn) {
			if _, ok := sub.Services[dep]; !ok {
				continue
			}
			if err := e.waitFor(ctx, dep, s.DependsOn[dep].Condition); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
		}
		return e.converge(ctx, s)
	})
}

// fail removes what this command made, so that a failed up leaves the
// project as it found it.
func (e *engine) fail(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	created := slices.Clone(e.created)
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.cs.Remove(ctx, id, containers.RemoveOptions{Kill: true, AnonVolumes: true})
		}()
	}
	wg.Wait()
	for _, n := range e.madeNet {
		e.cs.Networks().Remove(ctx, n)
	}
	for _, v := range e.madeVol {
		e.cs.Volumes().Remove(ctx, v, volumes.ContainerUsers(e.cs.Client()))
	}
}

// waitFor waits until service dep is as condition asks.
func (e *engine) waitFor(ctx context.Context, dep, condition string) error {
	e.mu.Lock()
	ids := slices.Clone(e.current[dep])
	e.mu.Unlock()
	for _, id := range ids {
		info, err := e.cs.Client().ContainerService().Get(ctx, id)
		if err != nil {
			return err
		}
		name := containers.ConfigOf(info).Name
		switch condition {
		case types.ServiceConditionHealthy:
			if err := e.waitHealthy(ctx, info, 0); err != nil {
				return fmt.Errorf("dependency %s failed to start: %w", dep, err)
			}
		case types.ServiceConditionCompletedSuccessfully:
			code, err := e.cs.Wait(ctx, info)
			if err != nil {
				return err
			}
			if code != 0 {
				return fmt.Errorf("dependency %s did not complete successfully: container %s exited with %d", dep, name, code)
			}
		}
	}
	return nil
}

// waitHealthy waits until container info is healthy, failing when it is
// unhealthy, stops, or (with timeout) takes longer than that.
func (e *engine) waitHealthy(ctx context.Context, info ctrs.Container, timeout time.Duration) error {
	id, name := info.ID, containers.ConfigOf(info).Name
	if !containers.HasHealthcheck(containers.ConfigOf(info).Healthcheck) {
		return fmt.Errorf("container %s has no healthcheck to wait for: give its service a healthcheck, or depend on it with condition: service_started", name)
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		h := containers.ReadHealth(e.cs.Dir(id))
		if h != nil {
			switch h.Status {
			case containers.HealthHealthy:
				return nil
			case containers.HealthUnhealthy:
				return fmt.Errorf("container %s is unhealthy%s", name, lastOutput(h))
			}
		}
		if running, err := e.cs.Running(ctx, id); err == nil && !running {
			return fmt.Errorf("container %s stopped before it became healthy", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("container %s is not healthy after %s%s", name, timeout, lastOutput(h))
		case <-tick.C:
		}
	}
}

func lastOutput(h *containers.Health) string {
	if h == nil || len(h.Log) == 0 {
		return ""
	}
	return fmt.Sprintf(" (last check: exit %d, %q)", h.Log[len(h.Log)-1].ExitCode, h.Log[len(h.Log)-1].Output)
}

// converge makes service s's containers what the file says: those whose
// config hash and image still match are kept (and started), the others
// recreated, missing numbers made and numbers beyond the scale removed.
func (e *engine) converge(ctx context.Context, s types.ServiceConfig) error {
	if s.ContainerName != "" && s.GetScale() > 1 {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: container_name %s is one name, so the service cannot scale to %d", s.Name, s.ContainerName, s.GetScale()))
	}
	image, err := e.image(ctx, s)
	if err != nil {
		return err
	}
	digest := imageDigest(ctx, e.cs.Client(), image)
	hash := configHash(s)
	// depends_on restart: true — a dependency this command recreated
	// means this service's kept containers restart, so that they
	// reconnect to the new one.
	restartKept := false
	e.mu.Lock()
	for dep, d := range s.DependsOn {
		if d.Restart && e.changed[dep] {
			restartKept = true
		}
	}
	e.mu.Unlock()
	byNumber := map[int]member{}
	var extra []member
	for _, m := range e.existing {
		if m.service != s.Name {
			continue
		}
		if _, dup := byNumber[m.number]; dup || m.number < 1 || m.number > s.GetScale() {
			extra = append(extra, m)
			continue
		}
		byNumber[m.number] = m
	}
	ids := make([]string, s.GetScale())
	g, gctx := errgroup.WithContext(ctx)
	for n := 1; n <= s.GetScale(); n++ {
		g.Go(func() error {
			m, ok := byNumber[n]
			if ok && !e.forceRecreate && (e.noRecreate || m.info.Labels[labelHash] == hash && (digest == "" || m.info.Labels[labelImage] == digest)) {
				ids[n-1] = m.info.ID
				if m.running() && restartKept && !e.noStart {
					if err := e.cs.Stop(gctx, m.info, containers.StopOptions{Timeout: seconds(e.stopTimeout)}); err != nil {
						return fmt.Errorf("restart %s: %w", m.name, err)
					}
					m.state.Status = "exited"
				}
				if m.running() || e.noStart {
					e.say(m.name, "Running")
					return nil
				}
				ctr, err := e.cs.Client().LoadContainer(gctx, m.info.ID)
				if err != nil {
					return err
				}
				if _, _, err := e.cs.Start(gctx, ctr); err != nil {
					return fmt.Errorf("start %s: %w", m.name, err)
				}
				e.say(m.name, "Started")
				return nil
			}
			var old *member
			if ok {
				old = &m
			}
			id, err := e.create(gctx, s, n, image, digest, hash, old)
			ids[n-1] = id
			e.mu.Lock()
			e.changed[s.Name] = true
			e.mu.Unlock()
			return err
		})
	}
	for _, m := range extra {
		g.Go(func() error {
			if err := e.remove(gctx, m); err != nil {
				return err
			}
			e.say(m.name, "Removed")
			return nil
		})
	}
	err = g.Wait()
	e.mu.Lock()
	for _, id := range ids {
		if id != "" {
			e.current[s.Name] = append(e.current[s.Name], id)
		}
	}
	e.mu.Unlock()
	return err
}

// remove stops and removes an old container of the project.
func (e *engine) remove(ctx context.Context, m member) error {
	return stopAndRemove(ctx, e.cs, m, e.stopTimeout, e.renewAnon)
}

// stopAndRemove stops m (its stop signal, then SIGKILL after timeout,
// nil for its own) and removes it, with its anonymous volumes when
// anonVolumes is set.
func stopAndRemove(ctx context.Context, cs *containers.Containers, m member, timeout *int, anonVolumes bool) error {
	if err := cs.Stop(ctx, m.info, containers.StopOptions{Timeout: seconds(timeout), ForRemove: true}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop %s: %w", m.name, err)
	}
	if err := cs.Remove(ctx, m.info.ID, containers.RemoveOptions{Kill: true, AnonVolumes: anonVolumes}); err != nil {
		return fmt.Errorf("remove %s: %w", m.name, err)
	}
	return nil
}

// create makes container number n of s and, unless noStart, starts it.
// With old, it replaces that container: the new one's plan is made (and
// checked) first, then the old one goes, and its anonymous volumes pass
// to the new one unless -V.
func (e *engine) create(ctx context.Context, s types.ServiceConfig, n int, image, digest, hash string, old *member) (string, error) {
	recreated := old != nil
	labels := projectLabels(e.p)
	labels[labelService] = s.Name
	labels[labelNumber] = strconv.Itoa(n)
	labels[labelOneoff] = "False"
	labels[labelHash] = hash
	if digest != "" {
		labels[labelImage] = digest
	}
	name := containerName(e.p.Name, s, n)
	plan, err := servicePlan(e.planInput(s, name, image, labels))
	if err != nil {
		return "", err
	}
	var carry []containers.Mount
	if old != nil && !e.renewAnon {
		carry = e.anonymousMounts(ctx, old.info)
	}
	// The old container's anonymous volumes go where the new one would
	// have had new ones (its own volumes: entries or its image's VOLUME).
	for _, m := range carry {
		i := slices.IndexFunc(plan.Mounts, func(pm containers.Mount) bool { return pm.Target == m.Target })
		switch {
		case i < 0:
			plan.Mounts = append(plan.Mounts, m)
		case plan.Mounts[i].Type == "volume" && plan.Mounts[i].Source == "":
			plan.Mounts[i].Source = m.Source
		}
	}
	if old != nil {
		if err := e.remove(ctx, *old); err != nil {
			return "", err
		}
	}
	ctr, err := e.cs.Create(ctx, plan, containers.ForStart())
	if errdefs.IsAlreadyExists(err) {
		// Another up of the same project, at the same moment, made it:
		// the name claim let one of them through. Theirs is as good as
		// ours when it is the same service, number and configuration.
		if id, ok := e.sameContainer(ctx, name, labels); ok {
			return id, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	if !recreated {
		// A replacement stays even when the command fails: removing it
		// would leave its service with no container at all.
		e.mu.Lock()
		e.created = append(e.created, ctr.ID())
		e.mu.Unlock()
	}
	what := "Created"
	if recreated {
		what = "Recreated"
	}
	e.say(name, what)
	if e.noStart {
		return ctr.ID(), nil
	}
	if _, _, err := e.cs.Start(ctx, ctr); err != nil {
		return ctr.ID(), fmt.Errorf("start %s: %w", name, err)
	}
	e.say(name, "Started")
	return ctr.ID(), nil
}

// sameContainer looks for container name as another command makes it
// and, when it is this one's to be (same project, service, number and
// config hash), starts it unless noStart and returns its ID.
func (e *engine) sameContainer(ctx context.Context, name string, labels map[string]string) (string, bool) {
	for try := 0; try < 50; try++ {
		info, err := e.cs.Resolve(ctx, name)
		if err == nil {
			for _, k := range []string{labelProject, labelService, labelNumber, labelHash} {
				if info.Labels[k] != labels[k] {
					return "", false
				}
			}
			if e.noStart {
				return info.ID, true
			}
			for ; try < 50; try++ {
				running, err := e.cs.Running(ctx, info.ID)
				if err == nil && running {
					e.say(name, "Running")
					return info.ID, true
				}
				// Not started yet: by the other command, soon, or by
				// this one now; both may try, one wins.
				if ctr, err := e.cs.Client().LoadContainer(ctx, info.ID); err == nil {
					if _, _, err := e.cs.Start(ctx, ctr); err == nil {
						e.say(name, "Started")
						return info.ID, true
					}
				}
				if !sleepCtx(ctx, 100*time.Millisecond) {
					return "", false
				}
			}
			return "", false
		}
		if !errdefs.IsNotFound(err) || !sleepCtx(ctx, 100*time.Millisecond) { // claimed, not yet in containerd
			return "", false
		}
	}
	return "", false
}

// anonymousMounts are the anonymous volumes of container info with the
// paths they are mounted at: a recreated container takes them over, as
// docker compose's does unless -V, so that an image's VOLUME keeps its
// data across a change of configuration.
func (e *engine) anonymousMounts(ctx context.Context, info ctrs.Container) []containers.Mount {
	var out []containers.Mount
	for _, k := range sortedKeys(info.Labels) {
		// The label is the volume's claim on the container, its value
		// the path it is mounted at.
		name, ok := strings.CutPrefix(k, volumes.UsedByLabel)
		if !ok || info.Labels[k] == "" {
			continue
		}
		if v, err := e.cs.Volumes().Get(ctx, name); err == nil && v.Anonymous {
			out = append(out, containers.Mount{Type: "volume", Source: name, Target: info.Labels[k]})
		}
	}
	return out
}

// sleepCtx sleeps for d, false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (e *engine) planInput(s types.ServiceConfig, name, image string, labels map[string]string) planInput {
	return planInput{
		project: e.p, service: s, name: name, image: image, labels: labels,
		containerOf: func(svc string) (string, error) {
			other, ok := e.p.Services[svc]
			if !ok {
				return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s refers to service %s, which the project does not have", s.Name, svc))
			}
			return containerName(e.p.Name, other, 1), nil
		},
		file: func(kind, key string, data []byte) (string, error) {
			return writeProjectFile(e.a.projectDir(e.p.Name), kind+"s", key, data)
		},
	}
}

// projectDir is where lepton keeps the files a project's containers
// mount that have no file of their own (secrets and configs from the
// environment or inline); down removes it.
func (a *app) projectDir(project string) string {
	return filepath.Join(a.g.DataRoot, "compose", a.g.Namespace, project)
}

// writeProjectFile writes data whole (a reader never sees half of it) to
// dir/kind/key and returns its path.
func writeProjectFile(dir, kind, key string, data []byte) (string, error) {
	d := filepath.Join(dir, kind)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(d, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	// Readable by any user the container runs as, as docker compose
	// makes them (mode 0444).
	if err := f.Chmod(0o444); err != nil {
		f.Close()
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	dst := filepath.Join(d, key)
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}

// imageOf is the image a service runs: its image:, else the name a build
// gives it, PROJECT-SERVICE, as docker compose names it.
func imageOf(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return p.Name + "-" + s.Name
}

// image is the image service s runs, which must be in the store by now
// (up builds and pulls first).
func (e *engine) image(ctx context.Context, s types.ServiceConfig) (string, error) {
	ref := imageOf(e.p, s)
	if _, err := registry.Normalize(ref); err != nil {
		return "", fmt.Errorf("service %s: %w", s.Name, err)
	}
	return ref, nil
}

// imageDigest is the digest of image ref in the store, "" when missing.
func imageDigest(ctx context.Context, c *containerd.Client, ref string) string {
	name, err := registry.Normalize(ref)
	if err != nil {
		return ""
	}
	img, err := c.ImageService().Get(ctx, name)
	if err != nil {
		return ""
	}
	return img.Target.Digest.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var errInterrupted = errors.New("interrupted")
