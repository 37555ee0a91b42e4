//go:build !windows

package compose

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// planInput is what servicePlan needs beside the service itself.
type planInput struct {
	project *types.Project
	service types.ServiceConfig
	name    string            // the container's name
	image   string            // the image to run (built or named)
	labels  map[string]string // compose's labels for the container
	// containerOf is the name of a running container of a service, for
	// network_mode: service:X and volumes_from: X.
	containerOf func(service string) (string, error)
	// file writes a secret or config that has no file of its own (from
	// the environment or inline content) and says where it is.
	file func(kind, name string, data []byte) (string, error)
}

// servicePlan turns a compose service into the Plan lepton run would
// make of the same settings. A field lepton cannot honour is refused by
// name.
func servicePlan(in planInput) (*containers.Plan, error) {
	s := in.service
	if err := unsupported(s); err != nil {
		return nil, err
	}
	p := &containers.Plan{}
	c := &p.Config
	c.Name = in.name
	c.Image = in.image
	c.Cmd = s.Command
	c.Entrypoint = s.Entrypoint
	c.WorkingDir = s.WorkingDir
	c.User = s.User
	c.Hostname = s.Hostname
	c.Domainname = s.DomainName
	c.Tty = s.Tty
	c.OpenStdin = s.StdinOpen
	c.StopSignal = s.StopSignal
	c.Platform = s.Platform
	c.MacAddress = s.MacAddress
	if s.StopGracePeriod != nil {
		secs := int(time.Duration(*s.StopGracePeriod).Round(time.Second) / time.Second)
		c.StopTimeout = &secs
	}
	switch s.PullPolicy {
	case "", types.PullPolicyMissing, types.PullPolicyIfNotPresent, types.PullPolicyBuild:
		c.Pull = "missing"
	case types.PullPolicyAlways:
		c.Pull = "always"
	case types.PullPolicyNever:
		c.Pull = "never"
	default:
		return nil, refuse("pull_policy "+s.PullPolicy, s.Name, "lepton pulls always, never or when missing")
	}

	keys := make([]string, 0, len(s.Environment))
	for k := range s.Environment {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := s.Environment[k]; v != nil {
			c.Env = append(c.Env, k+"="+*v)
		}
	}
	c.Labels = map[string]string{}
	for k, v := range s.Labels {
		c.Labels[k] = v
	}
	for k, v := range in.labels {
		c.Labels[k] = v
	}
	for k := range c.Labels {
		if containers.ReservedLabel(k) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: label %q is reserved for lepton and containerd", s.Name, k))
		}
	}

	h := &c.HostConfig
	h.Privileged = s.Privileged
	h.ReadonlyRootfs = s.ReadOnly
	h.CapAdd = s.CapAdd
	h.CapDrop = s.CapDrop
	h.SecurityOpt = s.SecurityOpt
	h.DNS = s.DNS
	h.DNSSearch = s.DNSSearch
	h.DNSOptions = s.DNSOpts
	h.GroupAdd = s.GroupAdd
	h.Init = s.Init
	h.ShmSize = int64(s.ShmSize)
	h.OomScoreAdj = int(s.OomScoreAdj)
	h.Runtime = s.Runtime
	h.Isolation = s.Isolation
	h.UsernsMode = s.UserNSMode
	h.UTSMode = s.Uts
	h.IpcMode = s.Ipc
	h.PidMode = s.Pid
	h.CgroupnsMode = s.Cgroup
	if len(s.Annotations) > 0 {
		h.Annotations = map[string]string(s.Annotations)
	}
	if len(s.Sysctls) > 0 {
		h.Sysctls = map[string]string(s.Sysctls)
	}
	for host, ips := range s.ExtraHosts {
		for _, ip := range ips {
			h.ExtraHosts = append(h.ExtraHosts, host+":"+ip)
		}
	}
	slices.Sort(h.ExtraHosts)
	var err error
	if h.RestartPolicy, err = restartPolicy(s); err != nil {
		return nil, err
	}
	if err := resources(s, h); err != nil {
		return nil, err
	}
	for name, u := range s.Ulimits {
		switch {
		case u == nil:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: ulimits.%s has no value: give a number or soft and hard", s.Name, name))
		case u.Single != 0:
			h.Ulimits = append(h.Ulimits, fmt.Sprintf("%s=%d", name, u.Single))
		default:
			h.Ulimits = append(h.Ulimits, fmt.Sprintf("%s=%d:%d", name, u.Soft, u.Hard))
		}
	}
	slices.Sort(h.Ulimits)
	if s.Logging != nil && (s.Logging.Driver != "" || len(s.Logging.Options) > 0) {
		h.LogConfig = containers.LogConfig{Type: s.Logging.Driver, Config: map[string]string(s.Logging.Options)}
		if h.LogConfig.Type == "" {
			h.LogConfig.Type = containers.LogJSONFile
		}
	}
	for _, vf := range s.VolumesFrom {
		src, mode, _ := strings.Cut(vf, ":")
		if strings.HasPrefix(src, "container:") {
			src = strings.TrimPrefix(src, "container:")
		} else if _, ok := in.project.Services[src]; ok {
			if src, err = in.containerOf(src); err != nil {
				return nil, err
			}
		}
		if mode != "" {
			src += ":" + mode
		}
		h.VolumesFrom = append(h.VolumesFrom, src)
	}

	if err := healthcheck(s, p); err != nil {
		return nil, err
	}
	if err := mounts(in, p); err != nil {
		return nil, err
	}
	if err := secretsAndConfigs(in, p); err != nil {
		return nil, err
	}
	for _, e := range s.Expose {
		port, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[port+"/"+proto] = struct{}{}
	}
	if err := network(in, p); err != nil {
		return nil, err
	}
	return p, nil
}

// unsupported refuses the service fields lepton has no way to honour.
func unsupported(s types.ServiceConfig) error {
	why := map[string]bool{
		"blkio_config":                          s.BlkioConfig != nil,
		"cpu_count":                             s.CPUCount != 0,
		"cpu_percent":                           s.CPUPercent != 0,
		"credential_spec":                       s.CredentialSpec != nil,
		"gpus":                                  len(s.Gpus) > 0,
		"models":                                len(s.Models) > 0,
		"storage_opt":                           len(s.StorageOpt) > 0,
		"umask":                                 s.Umask != nil,
		"use_api_socket":                        s.UseAPISocket,
		"external_links":                        len(s.ExternalLinks) > 0,
		"provider":                              s.Provider != nil,
		"pre_start":                             len(s.PreStart) > 0,
		"post_start":                            len(s.PostStart) > 0,
		"pre_stop":                              len(s.PreStop) > 0,
		"log_driver":                            s.LogDriver != "",
		"log_opt":                               len(s.LogOpt) > 0,
		"net":                                   s.Net != "",
		"deploy.placement":                      s.Deploy != nil && (len(s.Deploy.Placement.Constraints) > 0 || len(s.Deploy.Placement.Preferences) > 0),
		"deploy.mode global":                    s.Deploy != nil && s.Deploy.Mode == "global",
		"deploy.resources.limits.devices":       s.Deploy != nil && s.Deploy.Resources.Limits != nil && len(s.Deploy.Resources.Limits.Devices) > 0,
		"deploy.resources.reservations.devices": s.Deploy != nil && s.Deploy.Resources.Reservations != nil && len(s.Deploy.Resources.Reservations.Devices) > 0,
		"deploy.resources.reservations.cpus":    s.Deploy != nil && s.Deploy.Resources.Reservations != nil && s.Deploy.Resources.Reservations.NanoCPUs != 0,
		"deploy.resources.limits.generic_resources":       s.Deploy != nil && s.Deploy.Resources.Limits != nil && len(s.Deploy.Resources.Limits.GenericResources) > 0,
		"deploy.resources.reservations.generic_resources": s.Deploy != nil && s.Deploy.Resources.Reservations != nil && len(s.Deploy.Resources.Reservations.GenericResources) > 0,
	}
	var names []string
	for k, bad := range why {
		if bad {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		return refuse(strings.Join(names, ", "), s.Name, "lepton has nothing that does it; remove it from the service")
	}
	if s.VolumeDriver != "" && s.VolumeDriver != "local" {
		return refuse("volume_driver "+s.VolumeDriver, s.Name, "lepton has only the local volume driver")
	}
	for _, l := range s.Links {
		if svc, alias, ok := strings.Cut(l, ":"); ok && alias != svc {
			return refuse("links alias "+l, s.Name, "services find each other by service name on the project network; use networks: aliases instead")
		}
	}
	return nil
}

func restartPolicy(s types.ServiceConfig) (containers.RestartPolicy, error) {
	r := s.Restart
	if r == "" && s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		switch d := s.Deploy.RestartPolicy; d.Condition {
		case "none":
			r = "no"
		case "on-failure":
			r = "on-failure"
			if d.MaxAttempts != nil {
				r += ":" + strconv.FormatUint(*d.MaxAttempts, 10)
			}
		case "any", "":
			r = "always"
		default:
			return containers.RestartPolicy{}, refuse("deploy.restart_policy.condition "+d.Condition, s.Name, "want none, on-failure or any")
		}
	}
	p, err := containers.ParseRestartPolicy(r)
	if err != nil {
		return p, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: bad restart %q: %v", s.Name, r, err))
	}
	return p, nil
}

// resources are the service's limits; deploy.resources wins over the
// older top-level fields, as in docker compose.
func resources(s types.ServiceConfig, h *containers.HostConfig) error {
	h.Memory = int64(s.MemLimit)
	h.MemoryReservation = int64(s.MemReservation)
	h.MemorySwap = int64(s.MemSwapLimit)
	if s.MemSwappiness != 0 {
		v := int64(s.MemSwappiness)
		h.MemorySwappiness = &v
	}
	h.NanoCPUs = int64(float64(s.CPUS) * 1e9)
	h.CPUShares = s.CPUShares
	h.CpusetCpus = s.CPUSet
	h.CPUPeriod = s.CPUPeriod
	h.CPUQuota = s.CPUQuota
	h.CPURealtimePeriod = s.CPURTPeriod
	h.CPURealtimeRuntime = s.CPURTRuntime
	h.PidsLimit = s.PidsLimit
	h.OomKillDisable = s.OomKillDisable
	h.CgroupParent = s.CgroupParent
	h.DeviceCgroupRules = s.DeviceCgroupRules
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			if l.NanoCPUs != 0 {
				h.NanoCPUs = int64(l.NanoCPUs.Value() * 1e9)
			}
			if l.MemoryBytes != 0 {
				h.Memory = int64(l.MemoryBytes)
			}
			if l.Pids != 0 {
				h.PidsLimit = l.Pids
			}
		}
		if r := s.Deploy.Resources.Reservations; r != nil && r.MemoryBytes != 0 {
			h.MemoryReservation = int64(r.MemoryBytes)
		}
	}
	for _, d := range s.Devices {
		if !path.IsAbs(d.Source) || d.Target != "" && !path.IsAbs(d.Target) {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: bad device %s:%s: both paths must be absolute", s.Name, d.Source, d.Target))
		}
		if _, err := os.Stat(d.Source); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: device %s: %v", s.Name, d.Source, err))
		}
		m := containers.DeviceMapping{PathOnHost: d.Source, PathInContainer: d.Target, CgroupPermissions: d.Permissions}
		if m.PathInContainer == "" {
			m.PathInContainer = d.Source
		}
		if m.CgroupPermissions == "" {
			m.CgroupPermissions = "rwm"
		}
		h.Devices = append(h.Devices, m)
	}
	return nil
}

func healthcheck(s types.ServiceConfig, p *containers.Plan) error {
	hc := s.HealthCheck
	if hc == nil {
		return nil
	}
	if hc.Disable || len(hc.Test) > 0 && hc.Test[0] == "NONE" {
		p.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"NONE"}}
		return nil
	}
	out := &dockerspec.HealthcheckConfig{Test: hc.Test}
	dur := func(d *types.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return time.Duration(*d)
	}
	out.Interval, out.Timeout, out.StartPeriod, out.StartInterval = dur(hc.Interval), dur(hc.Timeout), dur(hc.StartPeriod), dur(hc.StartInterval)
	if hc.Retries != nil {
		out.Retries = int(*hc.Retries)
	}
	p.Healthcheck = out
	p.HealthFromFlags = true // the image's HEALTHCHECK fills in the rest
	return nil
}

// mounts are the service's volumes: and tmpfs:.
func mounts(in planInput, p *containers.Plan) error {
	s := in.service
	for _, v := range s.Volumes {
		m := containers.Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			if b := v.Bind; b != nil {
				if b.Propagation != "" && b.Propagation != "rprivate" {
					return refuse("volumes bind.propagation "+b.Propagation, s.Name, "lepton mounts binds rprivate")
				}
				if b.SELinux != "" {
					return refuse("volumes bind.selinux", s.Name, "lepton does not relabel bind mounts")
				}
				if b.Recursive != "" && b.Recursive != "enabled" {
					return refuse("volumes bind.recursive "+b.Recursive, s.Name, "lepton's binds are recursive")
				}
			}
			// docker compose makes a missing host path unless told not to.
			m.CreateSource = v.Bind == nil || bool(v.Bind.CreateHostPath)
		case types.VolumeTypeVolume:
			if v.Source != "" {
				pv, ok := in.project.Volumes[v.Source]
				if !ok {
					return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: volume %q is not declared under the top-level volumes:", s.Name, v.Source))
				}
				m.Source = pv.Name
			}
			if vv := v.Volume; vv != nil {
				m.NoCopy = vv.NoCopy
				if vv.Subpath != "" {
					return refuse("volumes volume.subpath", s.Name, "lepton mounts whole volumes")
				}
			}
		case types.VolumeTypeTmpfs:
			var user []string
			if t := v.Tmpfs; t != nil {
				if t.Size != 0 {
					user = append(user, fmt.Sprintf("size=%d", int64(t.Size)))
				}
				if t.Mode != 0 {
					user = append(user, fmt.Sprintf("mode=%o", t.Mode))
				}
			}
			m.Options = containers.TmpfsOptions(user)
		default:
			return refuse("volumes type "+v.Type, s.Name, "lepton mounts bind, volume and tmpfs")
		}
		p.Mounts = append(p.Mounts, m)
	}
	for _, t := range s.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		var user []string
		if opts != "" {
			user = strings.Split(opts, ",")
		}
		p.Mounts = append(p.Mounts, containers.Mount{Type: "tmpfs", Target: target, Options: containers.TmpfsOptions(user)})
	}
	return nil
}

// secretsAndConfigs mount each secret at /run/secrets/NAME and each
// config at /NAME (or their target), read-only, from the file they name
// or from a file lepton writes for environment and inline content.
func secretsAndConfigs(in planInput, p *containers.Plan) error {
	s := in.service
	type ref struct {
		kind, source, target string
		uid, gid             string
		mode                 *types.FileMode
		obj                  types.FileObjectConfig
		ok                   bool
	}
	var refs []ref
	for _, r := range s.Secrets {
		obj, ok := in.project.Secrets[r.Source]
		refs = append(refs, ref{"secret", r.Source, r.Target, r.UID, r.GID, r.Mode, types.FileObjectConfig(obj), ok})
	}
	for _, r := range s.Configs {
		obj, ok := in.project.Configs[r.Source]
		refs = append(refs, ref{"config", r.Source, r.Target, r.UID, r.GID, r.Mode, types.FileObjectConfig(obj), ok})
	}
	for _, r := range refs {
		if !r.ok {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: %s %q is not declared under the top-level %ss:", s.Name, r.kind, r.source, r.kind))
		}
		if r.uid != "" || r.gid != "" || r.mode != nil {
			return refuse(r.kind+"s uid, gid and mode", s.Name, "lepton bind-mounts the file as it is")
		}
		if r.obj.External {
			return refuse("external "+r.kind+" "+r.source, s.Name, "lepton has no swarm store; use file: or environment:")
		}
		target := r.target
		switch {
		case target == "" && r.kind == "secret":
			target = "/run/secrets/" + r.source
		case target == "":
			target = "/" + r.source
		case !path.IsAbs(target) && r.kind == "secret":
			target = "/run/secrets/" + target
		case !path.IsAbs(target):
			target = "/" + target
		}
		src := r.obj.File
		switch {
		case src != "":
			if _, err := os.Stat(src); err != nil {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: %s %s: %v", s.Name, r.kind, r.source, err))
			}
		case r.obj.Environment != "":
			v, ok := in.project.Environment[r.obj.Environment]
			if !ok {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: %s %s: environment variable %s is not set", s.Name, r.kind, r.source, r.obj.Environment))
			}
			var err error
			if src, err = in.file(r.kind, r.source, []byte(v)); err != nil {
				return err
			}
		case r.obj.Content != "":
			var err error
			if src, err = in.file(r.kind, r.source, []byte(r.obj.Content)); err != nil {
				return err
			}
		default:
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: %s %s has no file, environment or content", s.Name, r.kind, r.source))
		}
		p.Mounts = append(p.Mounts, containers.Mount{Type: "bind", Source: filepath.Clean(src), Target: target, ReadOnly: true})
	}
	return nil
}

// network joins the container to the service's networks, by priority,
// with the service name and its aliases as names the others resolve; a
// service with network_mode joins what that says.
func network(in planInput, p *containers.Plan) error {
	s := in.service
	h := &p.HostConfig
	mode := s.NetworkMode
	switch {
	case mode == "host" || mode == "none":
		if len(s.Ports) > 0 {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: ports need a network: with network_mode %s there is nothing to publish on", s.Name, mode))
		}
		h.NetworkMode = mode
		return nil
	case (strings.HasPrefix(mode, "service:") || strings.HasPrefix(mode, "container:")) && len(s.Ports) > 0:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: ports cannot be published with network_mode %s: publish them on the service whose network it shares", s.Name, mode))
	case strings.HasPrefix(mode, "service:"):
		name, err := in.containerOf(strings.TrimPrefix(mode, "service:"))
		if err != nil {
			return err
		}
		h.NetworkMode = "container:" + name
		return nil
	case strings.HasPrefix(mode, "container:"):
		h.NetworkMode = mode
		return nil
	case mode != "" && mode != "bridge" && mode != "default":
		return refuse("network_mode "+mode, s.Name, "want host, none, bridge, service:NAME or container:NAME")
	}
	plan := &networks.Plan{}
	if mode == "bridge" {
		plan.Networks = []networks.Attachment{{Network: networks.DefaultName}}
	}
	for _, key := range s.NetworksByPriority() {
		pn, ok := in.project.Networks[key]
		if !ok {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s: network %q is not declared under the top-level networks:", s.Name, key))
		}
		at := networks.Attachment{Network: pn.Name}
		if sn := s.Networks[key]; sn != nil {
			if sn.Ipv6Address != "" || len(sn.LinkLocalIPs) > 0 || sn.InterfaceName != "" || len(sn.DriverOpts) > 0 || sn.GatewayPriority != 0 {
				return refuse("networks."+key+" ipv6_address, link_local_ips, interface_name, driver_opts and gw_priority", s.Name, "lepton's bridges are IPv4 with eth0, eth1, ... and the first network (by priority) is the gateway")
			}
			at.IP = sn.Ipv4Address
			at.MAC = sn.MacAddress
			if sn.ServiceNameAliasEnabled() {
				at.Aliases = append(at.Aliases, s.Name)
			}
			at.Aliases = append(at.Aliases, sn.Aliases...)
		} else {
			at.Aliases = []string{s.Name}
		}
		plan.Networks = append(plan.Networks, at)
	}
	if len(plan.Networks) == 0 {
		h.NetworkMode = "none"
		return nil
	}
	h.NetworkMode = plan.Networks[0].Network
	bindings := map[string][]containers.PortBinding{}
	for _, pc := range s.Ports {
		spec := strconv.Itoa(int(pc.Target))
		if pc.Published != "" {
			spec = pc.Published + ":" + spec
			if pc.HostIP != "" {
				spec = pc.HostIP + ":" + spec
			}
		} else if pc.HostIP != "" {
			spec = pc.HostIP + "::" + spec
		}
		if pc.Protocol != "" {
			spec += "/" + pc.Protocol
		}
		ports, err := networks.ParsePublish(spec)
		if err != nil {
			return fmt.Errorf("service %s: ports: %w", s.Name, err)
		}
		for _, pt := range ports {
			plan.Ports = append(plan.Ports, pt)
			k := fmt.Sprintf("%d/%s", pt.ContainerPort, pt.Proto)
			hp := ""
			if pt.HostPort != 0 {
				hp = strconv.Itoa(pt.HostPort)
			}
			bindings[k] = append(bindings[k], containers.PortBinding{HostIP: pt.HostIP, HostPort: hp})
		}
	}
	if len(bindings) > 0 {
		h.PortBindings = bindings
	}
	p.Network = plan
	return nil
}
