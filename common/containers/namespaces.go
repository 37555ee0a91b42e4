//go:build !windows

package containers

// Sharing with the host or another container, docker's --pid, --ipc,
// --uts, --network container:NAME, --volumes-from and --shm-size.
//
// Another container's namespace is joined by path, /proc/PID/ns/TYPE of
// its task's process, so it must run when this one is created; the path
// is fixed in the spec then, as is docker's habit of resolving it at
// start only for its own daemon's bookkeeping. The container to share with
// should therefore keep running while this one does: if it stops, a
// shared PID namespace ends (its PID 1 is gone) and a shared network
// namespace lives on only while this container holds it.
//
// /dev/shm: a private one (the default) is the tmpfs of containerd's
// default spec, ShmSize big. A mount cannot be bind-mounted from another
// container's mount namespace (the kernel refuses, and docker's daemon
// keeps its shm tmpfs on the host instead), and a tmpfs that lepton
// mounted on the host would outlive a killed lepton and block the
// container's rm. So a shareable container's /dev/shm is the directory
// shm in its container directory, bind-mounted at /dev/shm: it goes with
// the container, and every container that joins its IPC namespace
// (--ipc container:NAME) bind-mounts the same directory. It lives on the
// data root's file system, so no ShmSize applies to it.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/volumes"
)

// shmDir is a shareable container's /dev/shm, in its directory.
const shmDir = "shm"

// peer is another container a new one shares with.
type peer struct {
	info containers.Container
	spec specs.Spec
	pid  uint32 // its task's, when it runs
}

// namespaceOpts carries out the plan's PidMode, IpcMode, UTSMode,
// NetworkMode container:NAME, VolumesFrom and ShmSize for the container
// being made in dir. Create calls it once its spec options are made (they
// go after them: they replace the default /dev/shm and the host name) and
// before its volumes are: it adds the mounts --volumes-from copies to
// p.Mounts, and for --network container:NAME it links that container's
// /etc/hosts, resolv.conf and hostname into dir in place of the ones
// written for this one, so both see the same files (written in place, as
// networks does) and inspect shows them as lepton's own. It may set
// p.Hostname: to the other container's for --network container:NAME (as
// docker does), to the host's for UTSMode host.
func (d *Containers) namespaceOpts(ctx context.Context, p *Plan, dir string) ([]oci.SpecOpts, error) {
	hc := &p.HostConfig
	given := p.Hostname
	peers := map[string]*peer{}
	// get finds container ref for the option what (in the error
	// messages), which may need it running.
	get := func(what, ref string, running bool) (*peer, error) {
		x, ok := peers[ref]
		if !ok {
			var err error
			if x, err = d.peer(ctx, ref); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			peers[ref] = x
		}
		if running && x.pid == 0 {
			return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("%s: container %s is not running: start it first", what, ref))
		}
		return x, nil
	}
	var opts []oci.SpecOpts

	switch ref, ok := strings.CutPrefix(hc.PidMode, "container:"); {
	case hc.PidMode == "":
	case hc.PidMode == "host":
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	case ok && ref != "":
		x, err := get("--pid "+hc.PidMode, ref, true)
		if err != nil {
			return nil, err
		}
		opts = append(opts, joinNamespace(specs.PIDNamespace, x.pid))
	default:
		return nil, badMode("PidMode", hc.PidMode, "host or container:NAME")
	}

	switch ref, ok := strings.CutPrefix(hc.IpcMode, "container:"); {
	case hc.IpcMode == "" || hc.IpcMode == "private":
		if hc.ShmSize > 0 {
			opts = append(opts, withShmSize(hc.ShmSize))
		}
	case hc.ShmSize > 0:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("ShmSize sizes a private /dev/shm; IpcMode %s has none", hc.IpcMode))
	case hc.IpcMode == "none":
		opts = append(opts, oci.WithoutMounts("/dev/shm"))
	case hc.IpcMode == "shareable":
		shm := filepath.Join(dir, shmDir)
		if err := os.Mkdir(shm, 0o700); err != nil && !os.IsExist(err) {
			return nil, err
		}
		if err := os.Chmod(shm, 0o1777); err != nil { // as a tmpfs /dev/shm is, whatever the umask
			return nil, err
		}
		opts = append(opts, withShm(shm))
	case hc.IpcMode == "host":
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace), withShm("/dev/shm"))
	case ok && ref != "":
		x, err := get("--ipc "+hc.IpcMode, ref, true)
		if err != nil {
			return nil, err
		}
		src := shmOf(&x.spec)
		if src == "" {
			return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("--ipc %s: container %s keeps its IPC namespace private: create it with --ipc shareable to share it", hc.IpcMode, ref))
		}
		opts = append(opts, joinNamespace(specs.IPCNamespace, x.pid), withShm(src))
	default:
		return nil, badMode("IpcMode", hc.IpcMode, "private, shareable, none, host or container:NAME")
	}

	if ref, ok := strings.CutPrefix(hc.NetworkMode, "container:"); ok {
		if given != "" {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("conflicting options: a host name and NetworkMode %s", hc.NetworkMode))
		}
		x, err := get("--network "+hc.NetworkMode, ref, true)
		if err != nil {
			return nil, err
		}
		opts = append(opts, joinNamespace(specs.NetworkNamespace, x.pid))
		if err := linkEtcFiles(d.Dir(x.info.ID), dir); err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "hostname")); err == nil && strings.TrimSpace(string(b)) != "" {
			p.Hostname = strings.TrimSpace(string(b))
		} else if x.spec.Hostname != "" {
			p.Hostname = x.spec.Hostname
		}
		if p.Hostname != "" {
			opts = append(opts, oci.WithHostname(p.Hostname))
		}
	}

	switch hc.UTSMode {
	case "":
	case "host":
		if given != "" {
			return nil, errdefs.ErrInvalidArgument.WithMessage("conflicting options: a host name and UTSMode host")
		}
		host, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(hc.NetworkMode, "container:") { // else hostname is the other's file
			if err := os.WriteFile(filepath.Join(dir, "hostname"), []byte(host+"\n"), 0o644); err != nil {
				return nil, err
			}
		}
		p.Hostname = host
		opts = append(opts, oci.WithHostNamespace(specs.UTSNamespace), withoutHostname)
	default:
		return nil, badMode("UTSMode", hc.UTSMode, "host")
	}

	for _, v := range hc.VolumesFrom {
		ref, mode, _ := strings.Cut(v, ":")
		if ref == "" || mode != "" && mode != "ro" && mode != "rw" {
			return nil, badMode("VolumesFrom", v, "NAME, NAME:ro or NAME:rw")
		}
		x, err := get("--volumes-from "+ref, ref, false)
		if err != nil {
			return nil, err
		}
		for _, m := range x.mounts(d.Dir(x.info.ID)) {
			if mode != "" {
				m.ReadOnly = mode == "ro"
			}
			i := slices.IndexFunc(p.Mounts, func(o Mount) bool { return o.Target == m.Target })
			switch {
			case i < 0:
				p.Mounts = append(p.Mounts, m)
			case p.Mounts[i].Type == "volume" && p.Mounts[i].Source == "":
				// An anonymous volume (the image's VOLUME): the other
				// container's data wins, as in docker.
				p.Mounts[i] = m
			}
			// Else this container's own mount there wins.
		}
	}
	return opts, nil
}

// peer finds container ref and, if it runs, its task's PID.
func (d *Containers) peer(ctx context.Context, ref string) (*peer, error) {
	info, err := d.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	x := &peer{info: info}
	if info.Spec != nil {
		if err := json.Unmarshal(info.Spec.GetValue(), &x.spec); err != nil {
			return nil, fmt.Errorf("read the spec of container %s: %w", ref, err)
		}
	}
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil {
		return nil, err
	}
	if task != nil && (st == containerd.Running || st == containerd.Paused) {
		x.pid = task.Pid()
	}
	return x, nil
}

// mounts are the container's volumes and bind mounts, as --volumes-from
// copies them: from its spec, all bind mounts but lepton's own (its /etc
// files, which are in its directory, its /dev/shm and its init), each
// volume by name (its lepton.volume/ label), so the new container is
// counted among the volume's users.
func (x *peer) mounts(dir string) []Mount {
	volumeAt := map[string]string{}
	for k, v := range x.info.Labels {
		if name, ok := strings.CutPrefix(k, volumes.UsedByLabel); ok {
			volumeAt[v] = name
		}
	}
	var out []Mount
	for _, m := range x.spec.Mounts {
		if m.Type != "bind" || m.Destination == "/dev/shm" || m.Destination == InitPath || filepath.Dir(m.Source) == dir {
			continue
		}
		ro := slices.Contains(m.Options, "ro")
		if name, ok := volumeAt[m.Destination]; ok {
			out = append(out, Mount{Type: "volume", Source: name, Target: m.Destination, ReadOnly: ro, NoCopy: true})
		} else {
			out = append(out, Mount{Type: "bind", Source: m.Source, Target: m.Destination, ReadOnly: ro})
		}
	}
	return out
}

// linkEtcFiles puts hard links to the /etc files of the container in
// from in place of those in dir: the same files, updated in place.
func linkEtcFiles(from, dir string) error {
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		src := filepath.Join(from, f)
		if _, err := os.Stat(src); err != nil {
			continue // made by another tool: this container keeps its own
		}
		dst := filepath.Join(dir, f)
		tmp := dst + ".link"
		os.Remove(tmp)
		if err := os.Link(src, tmp); err != nil {
			return fmt.Errorf("share /etc/%s: %w", f, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("share /etc/%s: %w", f, err)
		}
	}
	return nil
}

func joinNamespace(t specs.LinuxNamespaceType, pid uint32) oci.SpecOpts {
	name := map[specs.LinuxNamespaceType]string{specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net"}[t]
	return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, name)})
}

// withoutHostname leaves the host's names alone: runc may set them only
// in a UTS namespace of the container's own.
func withoutHostname(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Domainname != "" {
		return errdefs.ErrInvalidArgument.WithMessage("conflicting options: a domain name and UTSMode host (the container keeps the host's)")
	}
	s.Hostname = ""
	return nil
}

// withShmSize sizes the default spec's /dev/shm tmpfs.
func withShmSize(size int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		opt := fmt.Sprintf("size=%d", size)
		for i, m := range s.Mounts {
			if m.Destination == "/dev/shm" && m.Type == "tmpfs" {
				s.Mounts[i].Options = append(slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "size=") }), opt)
				return nil
			}
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", opt}})
		return nil
	}
}

// withShm makes /dev/shm a bind mount of src, where the default spec's
// tmpfs was.
func withShm(src string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		m := specs.Mount{Destination: "/dev/shm", Type: "bind", Source: src, Options: []string{"rbind", "rw", "nosuid", "nodev", "noexec"}}
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/dev/shm" {
				s.Mounts[i] = m
				return nil
			}
		}
		s.Mounts = append(s.Mounts, m)
		return nil
	}
}

// shmOf is what a container's /dev/shm is a bind mount of: a shareable
// container's directory, the host's /dev/shm, or, for one that joined
// another's, that one's. "" for a tmpfs of its own (private) or none.
func shmOf(s *specs.Spec) string {
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" && m.Type == "bind" {
			return m.Source
		}
	}
	return ""
}

func badMode(field, mode, want string) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad %s %q: want %s", field, mode, want))
}

// refreshNamespaces points the spec's shared namespaces at the other
// containers' tasks as they are now. The path fixed at create names a
// process that ends when that container stops, and a PID that may be
// reused: each start resolves it again, as docker does at start.
func (d *Containers) refreshNamespaces(ctx context.Context, ctr containerd.Container, cfg *Config) error {
	hc := &cfg.HostConfig
	want := map[specs.LinuxNamespaceType]uint32{}
	for t, mode := range map[specs.LinuxNamespaceType]string{specs.PIDNamespace: hc.PidMode, specs.IPCNamespace: hc.IpcMode, specs.NetworkNamespace: hc.NetworkMode} {
		ref, ok := strings.CutPrefix(mode, "container:")
		if !ok {
			continue
		}
		x, err := d.peer(ctx, ref)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		if x.pid == 0 {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("%s: container %s is not running: start it first", mode, ref))
		}
		want[t] = x.pid
	}
	if len(want) == 0 {
		return nil
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return err
	}
	changed := false
	for t, pid := range want {
		before := slices.Clone(spec.Linux.Namespaces)
		if err := joinNamespace(t, pid)(ctx, nil, nil, spec); err != nil {
			return err
		}
		changed = changed || !slices.Equal(before, spec.Linux.Namespaces)
	}
	if !changed {
		return nil
	}
	return ctr.Update(ctx, func(_ context.Context, _ *containerd.Client, c *containers.Container) error {
		var err error
		c.Spec, err = typeurl.MarshalAny(spec)
		return err
	})
}
