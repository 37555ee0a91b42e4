//go:build !windows

package containers

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/rootless"
)

// rootlessCgroups says whether this process works for a rootless daemon
// and, if so, the cgroup its containers' cgroups go under: "" where the
// host gave the user none (cgroup v1, or v2 without delegation).
func rootlessCgroups() (parent string, isRootless bool) {
	d, ok := rootless.Current()
	if !ok {
		return "", false
	}
	return d.CgroupParent(), true
}

// errNoCgroups is why a setting that needs cgroups is refused in rootless
// mode without them: refused, never dropped without a word.
func errNoCgroups(what string) error {
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf(
		"%s needs cgroups, and rootless lepton has none on this host (cgroup v1, or cgroup v2 not delegated to you): do without it, or run lepton as root; on cgroup v2 with systemd, the user service that install.sh --rootless writes (Delegate=yes) gives containers cgroups", what))
}

// CgroupsMissing is an error saying that what needs cgroups (what) cannot
// be had, when this process works for a rootless daemon whose containers
// get none; nil otherwise.
func CgroupsMissing(what string) error {
	if parent, ok := rootlessCgroups(); ok && parent == "" {
		return errNoCgroups(what)
	}
	return nil
}

// limitsSet names the first setting of hc that needs cgroups, or "".
func limitsSet(hc *HostConfig) string {
	r := &hc.Resources
	switch {
	case hc.Memory > 0:
		return "--memory"
	case hc.NanoCPUs > 0:
		return "--cpus"
	case hc.PidsLimit > 0:
		return "--pids-limit"
	case r.CPUShares > 0:
		return "--cpu-shares"
	case r.CpusetCpus != "":
		return "--cpuset-cpus"
	case r.CpusetMems != "":
		return "--cpuset-mems"
	case r.MemorySwap != 0:
		return "--memory-swap"
	case r.MemoryReservation > 0:
		return "--memory-reservation"
	case r.OomKillDisable:
		return "--oom-kill-disable"
	case r.MemorySwappiness != nil && *r.MemorySwappiness >= 0:
		return "--memory-swappiness"
	case r.BlkioWeight > 0 || len(r.BlkioWeightDevice) > 0:
		return "--blkio-weight"
	case len(r.BlkioDeviceReadBps)+len(r.BlkioDeviceWriteBps)+len(r.BlkioDeviceReadIOps)+len(r.BlkioDeviceWriteIOps) > 0:
		return "--device-read-bps and the like"
	case r.CPUPeriod != 0 || r.CPUQuota != 0:
		return "--cpu-period and --cpu-quota"
	case r.CPURealtimePeriod != 0 || r.CPURealtimeRuntime != 0:
		return "--cpu-rt-period and --cpu-rt-runtime"
	case r.CgroupParent != "":
		return "--cgroup-parent"
	case len(r.DeviceCgroupRules) > 0:
		return "--device-cgroup-rule"
	}
	return ""
}

// rootlessSpecOpts places the container's cgroup for a rootless daemon:
// under the delegated parent, or nowhere, which runc (in a user namespace,
// with no cgroup path) takes as "make none". Limits without cgroups are
// refused.
func rootlessSpecOpts(hc *HostConfig) ([]oci.SpecOpts, error) {
	parent, ok := rootlessCgroups()
	if !ok {
		return nil, nil
	}
	if parent == "" {
		if what := limitsSet(hc); what != "" {
			return nil, errNoCgroups(what)
		}
	}
	return []oci.SpecOpts{func(ctx context.Context, _ oci.Client, c *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			return nil
		}
		if hostNetwork(s) {
			bindSys(s)
		}
		if parent == "" {
			s.Linux.CgroupsPath = ""
			if s.Linux.Resources != nil {
				s.Linux.Resources = &specs.LinuxResources{Devices: s.Linux.Resources.Devices}
			}
			return nil
		}
		ns, _ := namespaces.Namespace(ctx)
		s.Linux.CgroupsPath = filepath.Join("/", parent, ns, c.ID)
		return nil
	}}, nil
}

func hostNetwork(s *oci.Spec) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace && n.Path == "" {
			return false
		}
	}
	return true
}

// bindSys gives a container on the host's network the host's /sys as a
// read-only bind: a user namespace may mount a sysfs only for a network
// namespace it owns, and the host's is not its.
func bindSys(s *oci.Spec) {
	var ms []specs.Mount
	for _, m := range s.Mounts {
		switch {
		case m.Destination == "/sys" && m.Type == "sysfs":
			m = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		case m.Destination == "/sys/fs/cgroup" && m.Type == "cgroup":
			continue // the bind has it
		}
		ms = append(ms, m)
	}
	s.Mounts = ms
}
