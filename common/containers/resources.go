//go:build !windows

package containers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Resources are a container's cgroup, device and kernel settings, as in
// docker's HostConfig (whose JSON they are flattened into).
type Resources struct {
	CPUShares         int64  `json:"CpuShares"` // relative CPU weight, 2 to 262144; 0: the default (1024)
	CpusetCpus        string // CPUs the container may run on ("0-2,4")
	CpusetMems        string // memory nodes it may use
	MemorySwap        int64  // memory plus swap in bytes, docker's way: -1 unlimited, 0 unset
	MemoryReservation int64  // soft memory limit in bytes
	OomKillDisable    bool
	BlkioWeight       uint16 // relative block I/O weight, 10 to 1000; 0: unset
	CgroupParent      string // the cgroup the container's cgroup is made in
	Devices           []DeviceMapping
	DeviceCgroupRules []string // "c 1:3 mr"
}

// DeviceMapping is one --device, as docker shows it.
type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string // some of r, w and m
}

// specOpts turns the resources into spec options. The controllers the
// host lacks are refused here, before anything is made: runc would fail at
// start, or (cgroup v2 and OomKillDisable) drop the setting without a word.
func (r *Resources) specOpts() ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if r.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(uint64(r.CPUShares)))
	}
	if r.CpusetCpus != "" {
		opts = append(opts, oci.WithCPUs(r.CpusetCpus))
	}
	if r.CpusetMems != "" {
		opts = append(opts, oci.WithCPUsMems(r.CpusetMems))
	}
	if r.MemorySwap != 0 || r.MemoryReservation > 0 || r.OomKillDisable {
		if err := r.checkMemory(); err != nil {
			return nil, err
		}
		opts = append(opts, withMemory(r.MemorySwap, r.MemoryReservation, r.OomKillDisable))
	}
	if r.BlkioWeight > 0 {
		if err := checkBlkioWeight(); err != nil {
			return nil, err
		}
		w := r.BlkioWeight
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			if s.Linux.Resources.BlockIO == nil {
				s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{}
			}
			s.Linux.Resources.BlockIO.Weight = &w
			return nil
		})
	}
	if r.CgroupParent != "" {
		parent := r.CgroupParent
		opts = append(opts, func(_ context.Context, _ oci.Client, c *containers.Container, s *oci.Spec) error {
			setResources(s)
			s.Linux.CgroupsPath = filepath.Join(parent, c.ID)
			return nil
		})
	}
	for _, d := range r.Devices {
		// A symlink (/dev/disk/by-id/...) names the device it points to.
		host, err := filepath.EvalSymlinks(d.PathOnHost)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("device %s: %v", d.PathOnHost, err))
		}
		if _, err := os.Stat(host); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("device %s: %v", d.PathOnHost, err))
		}
		opts = append(opts, oci.WithDevices(host, d.PathInContainer, d.CgroupPermissions))
	}
	if len(r.Devices) > 0 {
		opts = append(opts, withoutDuplicateDevices)
	}
	for _, rule := range r.DeviceCgroupRules {
		dc, err := ParseDeviceCgroupRule(rule)
		if err != nil {
			return nil, err
		}
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, dc)
			return nil
		})
	}
	return opts, nil
}

// hostSpecOpts turns HostConfig's kernel settings (--group-add, --sysctl,
// --cgroupns) into spec options.
func hostSpecOpts(hc *HostConfig) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if len(hc.GroupAdd) > 0 {
		// Names are looked up in the container's /etc/group, once its
		// snapshot exists; one that is not there fails the create.
		opts = append(opts, oci.WithAppendAdditionalGroups(hc.GroupAdd...))
	}
	if len(hc.Sysctls) > 0 {
		for k := range hc.Sysctls {
			if err := CheckSysctl(k, hc.NetworkMode); err != nil {
				return nil, err
			}
		}
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			if s.Linux.Sysctl == nil {
				s.Linux.Sysctl = map[string]string{}
			}
			for k, v := range hc.Sysctls {
				s.Linux.Sysctl[k] = v
			}
			return nil
		})
	}
	switch hc.CgroupnsMode {
	case "":
	case "host":
		opts = append(opts, oci.WithHostNamespace(specs.CgroupNamespace))
	case "private":
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.CgroupNamespace}))
	default:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad cgroupns mode %q: want host or private", hc.CgroupnsMode))
	}
	return opts, nil
}

// CheckSysctl applies docker's rule: only kernel parameters that belong to
// the container's own namespaces may be set (IPC's kernel.msg*, kernel.sem,
// kernel.shm* and fs.mqueue.*, and the network's net.*, unless it is the
// host's network).
func CheckSysctl(key, networkMode string) error {
	ipc := []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
	switch {
	case slices.Contains(ipc, key) || strings.HasPrefix(key, "fs.mqueue."):
		return nil
	case strings.HasPrefix(key, "net."):
		if networkMode == "host" {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("sysctl %s: with --network host it would change the host's network stack", key))
		}
		return nil
	}
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("sysctl %s is not namespaced: it would change the host's kernel; only net.*, fs.mqueue.*, kernel.sem, kernel.msg{max,mnb,mni} and kernel.shm{all,max,mni,_rmid_forced} may be set", key))
}

// ParseDeviceCgroupRule reads a --device-cgroup-rule: TYPE MAJOR:MINOR
// ACCESS, with TYPE a (all), b or c, "*" for any number, ACCESS some of
// r, w and m.
func ParseDeviceCgroupRule(rule string) (specs.LinuxDeviceCgroup, error) {
	bad := func(why string) (specs.LinuxDeviceCgroup, error) {
		return specs.LinuxDeviceCgroup{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad device cgroup rule %q: %s (want TYPE MAJOR:MINOR ACCESS, such as 'c 1:3 mr')", rule, why))
	}
	f := strings.Split(rule, " ")
	if len(f) != 3 {
		return bad("three fields")
	}
	if f[0] != "a" && f[0] != "b" && f[0] != "c" {
		return bad("the type is a, b or c")
	}
	maj, min, ok := strings.Cut(f[1], ":")
	if !ok {
		return bad("MAJOR:MINOR")
	}
	num := func(s string) (*int64, bool) {
		if s == "*" {
			return nil, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return &n, err == nil && n >= 0
	}
	major, ok1 := num(maj)
	minor, ok2 := num(min)
	if !ok1 || !ok2 {
		return bad("a device number is a whole number or *")
	}
	if !ValidDeviceAccess(f[2]) {
		return bad("the access is some of r, w and m")
	}
	return specs.LinuxDeviceCgroup{Allow: true, Type: f[0], Major: major, Minor: minor, Access: f[2]}, nil
}

// ValidDeviceAccess says whether s is a device cgroup access: r, w and m,
// each at most once.
func ValidDeviceAccess(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range s {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

func setResources(s *oci.Spec) {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
}

func withMemory(swap, reservation int64, noOOMKill bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		setResources(s)
		if s.Linux.Resources.Memory == nil {
			s.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		m := s.Linux.Resources.Memory
		if swap != 0 {
			m.Swap = &swap
		}
		if reservation > 0 {
			m.Reservation = &reservation
		}
		if noOOMKill {
			m.DisableOOMKiller = &noOOMKill
		}
		return nil
	}
}

// withoutDuplicateDevices keeps the last of device nodes at one path: a
// --device over one the spec has already (--privileged adds every host
// device) would make runc refuse the spec.
func withoutDuplicateDevices(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux == nil {
		return nil
	}
	var out []specs.LinuxDevice
	for i, d := range s.Linux.Devices {
		if !slices.ContainsFunc(s.Linux.Devices[i+1:], func(e specs.LinuxDevice) bool { return e.Path == d.Path }) {
			out = append(out, d)
		}
	}
	s.Linux.Devices = out
	return nil
}

// cgroupRoot is where the cgroup file systems are mounted.
var cgroupRoot = "/sys/fs/cgroup"

// unifiedCgroups says whether the host has cgroup v2 alone: only its root
// has cgroup.controllers (a hybrid host's v2 tree is under unified/).
func unifiedCgroups() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// checkMemory refuses what the memory controller cannot do here: swap
// limits need swap accounting, and cgroup v2 has no way to turn the OOM
// killer off.
func (r *Resources) checkMemory() error {
	if unifiedCgroups() {
		if r.OomKillDisable {
			return errdefs.ErrFailedPrecondition.WithMessage("--oom-kill-disable cannot be honoured on cgroup v2, which has no switch for the OOM killer (it needs a cgroup v1 host)")
		}
		return nil
	}
	if r.MemorySwap != 0 {
		if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes")); err != nil {
			return errdefs.ErrFailedPrecondition.WithMessage("--memory-swap cannot be honoured here: this kernel does no swap accounting (no memory.memsw.limit_in_bytes; boot it with swapaccount=1)")
		}
	}
	return nil
}

// checkBlkioWeight refuses --blkio-weight on a host whose block I/O
// controller has no weight: cgroup v1 needs blkio.weight (CFQ) or
// blkio.bfq.weight (BFQ); v2 needs the io controller (runc writes
// io.bfq.weight, or io.weight).
func checkBlkioWeight() error {
	if unifiedCgroups() {
		b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err != nil || !slices.Contains(strings.Fields(string(b)), "io") {
			return errdefs.ErrFailedPrecondition.WithMessage("--blkio-weight cannot be honoured here: the cgroup v2 io controller is not available")
		}
		return nil
	}
	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if _, err := os.Stat(filepath.Join(cgroupRoot, "blkio", f)); err == nil {
			return nil
		}
	}
	return errdefs.ErrFailedPrecondition.WithMessage("--blkio-weight cannot be honoured here: this host's blkio cgroup has no blkio.weight or blkio.bfq.weight (its disks use neither the CFQ nor the BFQ scheduler)")
}

// withSearchAndOptions replaces resolv.conf's search and options lines
// with --dns-search's and --dns-option's (if given), as docker does; a
// search domain "." stands for none.
func withSearchAndOptions(resolv string, search, options []string) string {
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(resolv, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (len(search) > 0 && (f[0] == "search" || f[0] == "domain") || len(options) > 0 && f[0] == "options") {
			continue
		}
		lines = append(lines, line)
	}
	if s := slices.DeleteFunc(slices.Clone(search), func(d string) bool { return d == "." }); len(s) > 0 {
		lines = append(lines, "search "+strings.Join(s, " "))
	}
	if len(options) > 0 {
		lines = append(lines, "options "+strings.Join(options, " "))
	}
	return strings.TrimLeft(strings.Join(lines, "\n")+"\n", "\n")
}
