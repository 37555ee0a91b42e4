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
	"golang.org/x/sys/unix"
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
	// CFS and realtime scheduling, in microseconds; 0 is unset. A quota
	// of -1 is none.
	CPUPeriod          int64  `json:"CpuPeriod"`
	CPUQuota           int64  `json:"CpuQuota"`
	CPURealtimePeriod  int64  `json:"CpuRealtimePeriod"`
	CPURealtimeRuntime int64  `json:"CpuRealtimeRuntime"`
	MemorySwappiness   *int64 // 0 to 100; nil: the host's (cgroup v1)
	// Per-device block I/O weights and limits; each device is stated
	// (for its major:minor) when the container is made.
	BlkioWeightDevice    []WeightDevice
	BlkioDeviceReadBps   []ThrottleDevice // bytes a second
	BlkioDeviceWriteBps  []ThrottleDevice
	BlkioDeviceReadIOps  []ThrottleDevice // operations a second
	BlkioDeviceWriteIOps []ThrottleDevice
}

// WeightDevice is one --blkio-weight-device, as docker shows it.
type WeightDevice struct {
	Path   string
	Weight uint16
}

// ThrottleDevice is one --device-read-bps, --device-write-bps,
// --device-read-iops or --device-write-iops, as docker shows it.
type ThrottleDevice struct {
	Path string
	Rate uint64
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
		if err := checkBlkioWeight("--blkio-weight"); err != nil {
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
	more, err := r.moreSpecOpts()
	if err != nil {
		return nil, err
	}
	return append(opts, more...), nil
}

// moreSpecOpts are the CFS and realtime CPU limits, the swappiness and
// the per-device block I/O settings.
func (r *Resources) moreSpecOpts() ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if r.CPUPeriod != 0 || r.CPUQuota != 0 || r.CPURealtimePeriod != 0 || r.CPURealtimeRuntime != 0 {
		if r.CPURealtimePeriod != 0 || r.CPURealtimeRuntime != 0 {
			if err := r.checkRealtime(); err != nil {
				return nil, err
			}
		}
		cpu := *r
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			if s.Linux.Resources.CPU == nil {
				s.Linux.Resources.CPU = &specs.LinuxCPU{}
			}
			c := s.Linux.Resources.CPU
			if cpu.CPUPeriod > 0 {
				p := uint64(cpu.CPUPeriod)
				c.Period = &p
			}
			if cpu.CPUQuota != 0 {
				c.Quota = &cpu.CPUQuota
			}
			if cpu.CPURealtimePeriod > 0 {
				p := uint64(cpu.CPURealtimePeriod)
				c.RealtimePeriod = &p
			}
			if cpu.CPURealtimeRuntime != 0 {
				c.RealtimeRuntime = &cpu.CPURealtimeRuntime
			}
			return nil
		})
	}
	if r.MemorySwappiness != nil && *r.MemorySwappiness >= 0 {
		if err := checkSwappiness(); err != nil {
			return nil, err
		}
		sw := uint64(*r.MemorySwappiness)
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			if s.Linux.Resources.Memory == nil {
				s.Linux.Resources.Memory = &specs.LinuxMemory{}
			}
			s.Linux.Resources.Memory.Swappiness = &sw
			return nil
		})
	}
	var bio specs.LinuxBlockIO
	if len(r.BlkioWeightDevice) > 0 {
		if err := checkBlkioWeight("--blkio-weight-device"); err != nil {
			return nil, err
		}
	}
	for _, d := range r.BlkioWeightDevice {
		major, minor, err := BlockDevice(d.Path)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--blkio-weight-device %s: %v", d.Path, err))
		}
		w := d.Weight
		wd := specs.LinuxWeightDevice{Weight: &w}
		wd.Major, wd.Minor = major, minor
		bio.WeightDevice = append(bio.WeightDevice, wd)
	}
	for _, t := range []struct {
		flag string
		from []ThrottleDevice
		to   *[]specs.LinuxThrottleDevice
	}{
		{"--device-read-bps", r.BlkioDeviceReadBps, &bio.ThrottleReadBpsDevice},
		{"--device-write-bps", r.BlkioDeviceWriteBps, &bio.ThrottleWriteBpsDevice},
		{"--device-read-iops", r.BlkioDeviceReadIOps, &bio.ThrottleReadIOPSDevice},
		{"--device-write-iops", r.BlkioDeviceWriteIOps, &bio.ThrottleWriteIOPSDevice},
	} {
		if len(t.from) > 0 {
			if err := checkBlkioThrottle(t.flag); err != nil {
				return nil, err
			}
		}
		for _, d := range t.from {
			major, minor, err := BlockDevice(d.Path)
			if err != nil {
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: %v", t.flag, d.Path, err))
			}
			td := specs.LinuxThrottleDevice{Rate: d.Rate}
			td.Major, td.Minor = major, minor
			*t.to = append(*t.to, td)
		}
	}
	if len(bio.WeightDevice)+len(bio.ThrottleReadBpsDevice)+len(bio.ThrottleWriteBpsDevice)+len(bio.ThrottleReadIOPSDevice)+len(bio.ThrottleWriteIOPSDevice) > 0 {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			if s.Linux.Resources.BlockIO == nil {
				s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{}
			}
			b := s.Linux.Resources.BlockIO
			b.WeightDevice = append(b.WeightDevice, bio.WeightDevice...)
			b.ThrottleReadBpsDevice = append(b.ThrottleReadBpsDevice, bio.ThrottleReadBpsDevice...)
			b.ThrottleWriteBpsDevice = append(b.ThrottleWriteBpsDevice, bio.ThrottleWriteBpsDevice...)
			b.ThrottleReadIOPSDevice = append(b.ThrottleReadIOPSDevice, bio.ThrottleReadIOPSDevice...)
			b.ThrottleWriteIOPSDevice = append(b.ThrottleWriteIOPSDevice, bio.ThrottleWriteIOPSDevice...)
			return nil
		})
	}
	return opts, nil
}

// BlockDevice is the major and minor number of the block device at path
// (a symlink names the device it points to).
func BlockDevice(path string) (major, minor int64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, fmt.Errorf("%s is not a block device (block I/O limits apply to disks, such as /dev/sda)", path)
	}
	dev := uint64(st.Rdev) // an int32 on darwin
	return int64(unix.Major(dev)), int64(unix.Minor(dev)), nil
}

// hostSpecOpts turns HostConfig's kernel settings (--group-add, --sysctl,
// --oom-score-adj, --annotation, --cgroupns) into spec options.
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
	// docker sets every container's score, 0 unless asked: otherwise the
	// process would inherit containerd's shim's (containerd's plus one).
	score, floor := hc.OomScoreAdj, oomScoreFloor()
	switch {
	case score < -1000 || score > 1000:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad OOM score adjustment %d: the range is -1000 to 1000", score))
	case score < floor && score != 0:
		return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("--oom-score-adj %d cannot be honoured here: a score below %d needs CAP_SYS_RESOURCE, which lepton (and so runc) runs without on this host", score, floor))
	case score < floor:
		// The default, where the kernel would refuse it: the inherited
		// score stays, as before lepton set one.
	default:
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			if s.Process == nil {
				s.Process = &specs.Process{}
			}
			s.Process.OOMScoreAdj = &score
			return nil
		})
	}
	if len(hc.Annotations) > 0 {
		opts = append(opts, oci.WithAnnotations(hc.Annotations))
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

// oomScoreFloor is the lowest OOM score a container can be given here:
// without CAP_SYS_RESOURCE the kernel refuses to lower a process's score
// below what it inherited, which is taken to be lepton's own; with it (or
// where lepton cannot tell) -1000.
func oomScoreFloor() int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1000
	}
	const capSysResource = 24
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64); err != nil || caps&(1<<capSysResource) != 0 {
				return -1000
			}
		}
	}
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return -1000
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1000
	}
	return own
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

// CheckCpusetCpus checks a --cpuset-cpus list: the kernel's list format
// ("0-2,4"), naming only CPUs this machine has online.
func CheckCpusetCpus(list string) error {
	return checkCPUList("--cpuset-cpus", list, "/sys/devices/system/cpu/online", "CPUs")
}

// CheckCpusetMems checks a --cpuset-mems list as CheckCpusetCpus does,
// against the memory nodes online.
func CheckCpusetMems(list string) error {
	return checkCPUList("--cpuset-mems", list, "/sys/devices/system/node/online", "memory nodes")
}

func checkCPUList(flag, list, online, what string) error {
	want, err := parseCPUList(list)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad %s %q: want a list such as 0-2,4", flag, list))
	}
	have := "0" // a kernel without NUMA has node 0 alone
	if b, err := os.ReadFile(online); err == nil {
		have = strings.TrimSpace(string(b))
	}
	set, err := parseCPUList(have)
	if err != nil {
		return nil // an online list lepton cannot read: runc decides
	}
	for n := range want {
		if !set[n] {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad %s %q: %d is not one of this machine's %s (%s)", flag, list, n, what, have))
		}
	}
	return nil
}

// parseCPUList reads the kernel's list format ("0-3,8"), as a set.
func parseCPUList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, fmt.Errorf("bad list %q", s)
			}
		}
		for n := a; n <= b; n++ {
			out[n] = true
		}
	}
	return out, nil
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

// checkBlkioWeight refuses flag (--blkio-weight, --blkio-weight-device)
// on a host whose block I/O controller has no weight: cgroup v1 needs
// blkio.weight (CFQ) or blkio.bfq.weight (BFQ); v2 needs the io
// controller (runc writes io.bfq.weight, or io.weight).
func checkBlkioWeight(flag string) error {
	if unifiedCgroups() {
		return checkIOController(flag)
	}
	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if _, err := os.Stat(filepath.Join(cgroupRoot, "blkio", f)); err == nil {
			return nil
		}
	}
	return errdefs.ErrFailedPrecondition.WithMessage(flag + " cannot be honoured here: this host's blkio cgroup has no blkio.weight or blkio.bfq.weight (its disks use neither the CFQ nor the BFQ scheduler)")
}

// checkIOController refuses flag on a cgroup v2 host without the io
// controller.
func checkIOController(flag string) error {
	b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	if err != nil || !slices.Contains(strings.Fields(string(b)), "io") {
		return errdefs.ErrFailedPrecondition.WithMessage(flag + " cannot be honoured here: the cgroup v2 io controller is not available")
	}
	return nil
}

// checkBlkioThrottle refuses a block I/O rate limit where the kernel has
// no throttling: cgroup v1's blkio.throttle.* files (v2's io.max).
func checkBlkioThrottle(flag string) error {
	if unifiedCgroups() {
		return checkIOController(flag)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "blkio", "blkio.throttle.read_bps_device")); err != nil {
		return errdefs.ErrFailedPrecondition.WithMessage(flag + " cannot be honoured here: this host's blkio cgroup has no throttling (no blkio.throttle.read_bps_device; the kernel lacks CONFIG_BLK_DEV_THROTTLING)")
	}
	return nil
}

// checkSwappiness refuses --memory-swappiness where there is no such
// setting: cgroup v2 has none.
func checkSwappiness() error {
	if unifiedCgroups() {
		return errdefs.ErrFailedPrecondition.WithMessage("--memory-swappiness cannot be honoured on cgroup v2, which has no per-cgroup swappiness (it needs a cgroup v1 host; --memory-swap limits swap use instead)")
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.swappiness")); err != nil {
		return errdefs.ErrFailedPrecondition.WithMessage("--memory-swappiness cannot be honoured here: this host's memory cgroup has no memory.swappiness")
	}
	return nil
}

// checkRealtime refuses --cpu-rt-period and --cpu-rt-runtime where
// realtime groups cannot be had: cgroup v2 has no realtime controller for
// tasks, and a v1 kernel without CONFIG_RT_GROUP_SCHED no
// cpu.rt_runtime_us. A relative --cgroup-parent is refused too: lepton
// gives the container's parent cgroups their realtime budget (see
// rtBudget), and so must know where they are.
func (r *Resources) checkRealtime() error {
	if unifiedCgroups() {
		return errdefs.ErrFailedPrecondition.WithMessage("--cpu-rt-period and --cpu-rt-runtime cannot be honoured on cgroup v2, which has no realtime controller for a container's tasks (they need a cgroup v1 host)")
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cpu", "cpu.rt_runtime_us")); err != nil {
		return errdefs.ErrFailedPrecondition.WithMessage("--cpu-rt-period and --cpu-rt-runtime cannot be honoured here: this host's cpu cgroup has no cpu.rt_runtime_us (the kernel lacks CONFIG_RT_GROUP_SCHED)")
	}
	if r.CPURealtimeRuntime > 0 && r.CgroupParent != "" && !filepath.IsAbs(r.CgroupParent) {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("--cpu-rt-runtime needs an absolute --cgroup-parent, not %q: lepton gives the parent cgroups their realtime budget, and runc would place a relative one under its own cgroup", r.CgroupParent))
	}
	return nil
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

// raiseRTBudget gives the ancestors of the cgroup v1 cpu cgroup cgPath
// (under mnt) the realtime budget for runtime microseconds in each period
// of its own: a new cgroup has none (cpu.rt_runtime_us 0), and the kernel
// lets no cgroup's children hold more between them than it has, as shares
// of each one's period. Docker's daemon sets the parents to its own
// --cpu-rt-runtime; lepton, with no daemon, raises each ancestor, top
// down, to what its other children hold plus the container's share. It
// never lowers one, and leaves the root's (kernel.sched_rt_runtime_us)
// alone: that is the host's whole budget.
func raiseRTBudget(mnt, cgPath string, runtime, period int64) error {
	if period <= 0 {
		period = 1000000 // the kernel's default, kernel.sched_rt_period_us
		if b, err := os.ReadFile("/proc/sys/kernel/sched_rt_period_us"); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
				period = n
			}
		}
	}
	parts := strings.Split(strings.Trim(filepath.Clean(cgPath), "/"), "/")
	var chain []string // the ancestors below the root, top down
	for i := 1; i < len(parts); i++ {
		chain = append(chain, filepath.Join(append([]string{mnt}, parts[:i]...)...))
	}
	// need[i] is the share (parts per million of its period) chain[i] must
	// hold: its child on the way down's, with what its other children hold.
	need := make([]int64, len(chain))
	want, child := ppm(runtime, period), filepath.Join(mnt, filepath.Join(parts...))
	for i := len(chain) - 1; i >= 0; i-- {
		others, err := childShares(chain[i], child)
		if err != nil {
			return err
		}
		need[i] = want + others
		if have, _, _ := rtShare(chain[i]); have > need[i] {
			want = have
		} else {
			want = need[i]
		}
		child = chain[i]
	}
	others, err := childShares(mnt, child)
	if err != nil {
		return err
	}
	root, rootRuntime, rootPeriod := rtShare(mnt)
	if want+others > root {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("--cpu-rt-runtime %d cannot be honoured: the host's realtime budget (cpu.rt_runtime_us %d in cpu.rt_period_us %d at the cpu cgroup root, kernel.sched_rt_runtime_us) has too little left beside what other cgroups hold", runtime, rootRuntime, rootPeriod))
	}
	for i, dir := range chain {
		if have, _, _ := rtShare(dir); have >= need[i] {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("give cgroup %s a realtime budget: %w", dir, err)
		}
		_, _, p := rtShare(dir)
		n := (need[i]*p + 999999) / 1000000
		if n > p {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("--cpu-rt-runtime %d cannot be honoured: cgroup %s would need more realtime runtime than its period", runtime, dir))
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.rt_runtime_us"), []byte(strconv.FormatInt(n, 10)), 0o644); err != nil {
			return fmt.Errorf("give cgroup %s a realtime budget for --cpu-rt-runtime: %w", dir, err)
		}
	}
	return nil
}

// rtShare is a cpu cgroup's realtime share, in parts per million of its
// period, with its runtime and period; a cgroup that is not there has
// none, and an unlimited one (-1) all.
func rtShare(dir string) (share, runtime, period int64) {
	read := func(f string) int64 {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
	runtime, period = read("cpu.rt_runtime_us"), read("cpu.rt_period_us")
	switch {
	case period <= 0:
		return 0, runtime, 1000000
	case runtime < 0:
		return 1000000, runtime, period
	}
	return ppm(runtime, period), runtime, period
}

// childShares adds up the realtime shares of dir's child cgroups but
// skip.
func childShares(dir, skip string) (int64, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, e := range ents {
		if p := filepath.Join(dir, e.Name()); e.IsDir() && p != skip {
			s, _, _ := rtShare(p)
			sum += s
		}
	}
	return sum, nil
}

// ppm is runtime in period as parts per million, rounded up.
func ppm(runtime, period int64) int64 {
	return (runtime*1000000 + period - 1) / period
}
