//go:build !windows

package run

import (
	"cmp"
	"os"
	"regexp"
	"strconv"
	"strings"

	units "github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// moreFlags are the rest of docker run's Linux options. Those lepton
// honours: CFS and realtime CPU limits, swappiness, the OOM score,
// per-device block I/O limits, annotations and the runtime; those whose
// only value lepton can honour is what it does anyway (--isolation
// default, --userns host, --volume-driver local, --disable-content-trust);
// and those it cannot honour, refused with the reason.
type moreFlags struct {
	CPUPeriod           int64    `long:"cpu-period" value-name:"<USEC>" description:"CFS period in microseconds, 1000 to 1000000 (default 100000)"`
	CPUQuota            int64    `long:"cpu-quota" value-name:"<USEC>" description:"CFS quota: microseconds of CPU time in each period, 1000 or more; -1 for none"`
	CPURtPeriod         int64    `long:"cpu-rt-period" value-name:"<USEC>" description:"Realtime scheduling period in microseconds (cgroup v1)"`
	CPURtRuntime        int64    `long:"cpu-rt-runtime" value-name:"<USEC>" description:"Realtime runtime in microseconds in each realtime period (cgroup v1)"`
	MemorySwappiness    *int64   `long:"memory-swappiness" value-name:"<N>" description:"Swappiness of the container's memory, 0 to 100; -1 for the host's (cgroup v1)"`
	OomScoreAdj         int      `long:"oom-score-adj" value-name:"<N>" description:"OOM score adjustment of the container's processes, -1000 to 1000 (default 0)"`
	BlkioWeightDevice   []string `long:"blkio-weight-device" value-name:"<DEV:WEIGHT>" description:"Block I/O weight of a block device, 10 to 1000 (e.g. /dev/sda:200)"`
	DeviceReadBps       []string `long:"device-read-bps" value-name:"<DEV:RATE>" description:"Limit reads from a block device, bytes a second (e.g. /dev/sda:1mb)"`
	DeviceWriteBps      []string `long:"device-write-bps" value-name:"<DEV:RATE>" description:"Limit writes to a block device, bytes a second (e.g. /dev/sda:1mb)"`
	DeviceReadIOps      []string `long:"device-read-iops" value-name:"<DEV:N>" description:"Limit reads from a block device, operations a second (e.g. /dev/sda:100)"`
	DeviceWriteIOps     []string `long:"device-write-iops" value-name:"<DEV:N>" description:"Limit writes to a block device, operations a second (e.g. /dev/sda:100)"`
	Annotations         []string `long:"annotation" value-name:"<KEY=VALUE>" description:"Add an annotation to the container's OCI spec (for the runtime)"`
	Runtime             string   `long:"runtime" value-name:"<NAME>" description:"Containerd runtime: runc (the default) or a shim such as io.containerd.runsc.v1"`
	NetAlias            []string `long:"net-alias" hidden:"true" value-name:"<NAME>" description:"Old name of --network-alias"`
	Isolation           string   `long:"isolation" value-name:"<MODE>" description:"Isolation technology: default only (the others are Windows')"`
	Userns              string   `long:"userns" value-name:"<MODE>" description:"User namespace: host only (lepton does no user namespace remapping)"`
	VolumeDriver        string   `long:"volume-driver" value-name:"<DRIVER>" description:"Volume driver: local only (lepton has only local volumes)"`
	DisableContentTrust string   `long:"disable-content-trust" optional:"yes" optional-value:"true" value-name:"<BOOL>" description:"Skip image verification, as lepton always does (=false is refused: no content trust)"`
	GPUs                string   `long:"gpus" value-name:"<GPUS>" description:"Not supported: lepton has no GPU support"`
	IP6                 string   `long:"ip6" value-name:"<IPV6>" description:"Not supported: lepton's networks are IPv4"`
	LinkLocalIP         []string `long:"link-local-ip" value-name:"<IP>" description:"Not supported: lepton's networks have no link-local addresses"`
	KernelMemory        string   `long:"kernel-memory" value-name:"<BYTES>" description:"Not supported: kernel memory limits are gone from cgroup v2"`
	StorageOpt          []string `long:"storage-opt" value-name:"<OPT>" description:"Not supported: the overlayfs snapshotter has no per-container size"`
	UseAPISocket        bool     `long:"use-api-socket" description:"Not supported: lepton has no daemon API socket"`
}

// shimName is what containerd takes for a runtime: io.containerd.NAME.vN.
var shimName = regexp.MustCompile(`^io\.containerd\.[a-z0-9][a-z0-9_-]*\.v[0-9]+$`)

// plan checks the options and sets them on p; it runs after the rest of
// the plan is made (--cpus is p.HostConfig.NanoCPUs).
func (f *moreFlags) plan(p *containers.Plan) error {
	if err := f.refuse(); err != nil {
		return err
	}
	hc := &p.HostConfig
	switch {
	case hc.NanoCPUs != 0 && (f.CPUPeriod != 0 || f.CPUQuota != 0):
		return cli.Usagef("conflicting options: --cpus and --cpu-period/--cpu-quota (--cpus N is --cpu-period 100000 --cpu-quota N*100000)")
	case f.CPUPeriod != 0 && (f.CPUPeriod < 1000 || f.CPUPeriod > 1000000):
		return cli.Usagef("bad --cpu-period %d: the range is 1000 to 1000000 microseconds (1ms to 1s)", f.CPUPeriod)
	case f.CPUQuota != 0 && f.CPUQuota != -1 && f.CPUQuota < 1000:
		return cli.Usagef("bad --cpu-quota %d: the smallest is 1000 microseconds (1ms), or -1 for none", f.CPUQuota)
	case f.CPURtPeriod < 0:
		return cli.Usagef("bad --cpu-rt-period %d: want microseconds, 1 or more", f.CPURtPeriod)
	case f.CPURtRuntime < 0:
		return cli.Usagef("bad --cpu-rt-runtime %d: want microseconds, 1 or more", f.CPURtRuntime)
	case f.CPURtRuntime > cmp.Or(f.CPURtPeriod, 1000000): // the kernel's default period
		return cli.Usagef("bad --cpu-rt-runtime %d: it cannot be more than the realtime period (%d microseconds)", f.CPURtRuntime, cmp.Or(f.CPURtPeriod, 1000000))
	}
	hc.CPUPeriod, hc.CPUQuota, hc.CPURealtimePeriod, hc.CPURealtimeRuntime = f.CPUPeriod, f.CPUQuota, f.CPURtPeriod, f.CPURtRuntime
	if s := f.MemorySwappiness; s != nil && *s != -1 {
		if *s < 0 || *s > 100 {
			return cli.Usagef("bad --memory-swappiness %d: the range is 0 to 100 (-1 keeps the host's)", *s)
		}
		v := *s
		hc.MemorySwappiness = &v
	}
	if f.OomScoreAdj < -1000 || f.OomScoreAdj > 1000 {
		return cli.Usagef("bad --oom-score-adj %d: the range is -1000 to 1000", f.OomScoreAdj)
	}
	hc.OomScoreAdj = f.OomScoreAdj
	if err := f.planBlkio(hc); err != nil {
		return err
	}
	for _, kv := range f.Annotations {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return cli.Usagef("bad --annotation %q: the key is empty (want KEY=VALUE)", kv)
		}
		if hc.Annotations == nil {
			hc.Annotations = map[string]string{}
		}
		hc.Annotations[k] = v
	}
	switch rt := f.Runtime; {
	case rt == "":
	case rt == "runc" || rt == "io.containerd.runc.v2":
		hc.Runtime = "io.containerd.runc.v2"
	case shimName.MatchString(rt):
		hc.Runtime = rt // containerd finds its shim, containerd-shim-NAME-vN, on PATH
	default:
		return cli.Usagef("bad --runtime %q: lepton runs containers with containerd shims: want runc, or a shim name such as io.containerd.runsc.v1", rt)
	}
	switch f.Isolation {
	case "", "default":
		hc.Isolation = f.Isolation
	default:
		return cli.Usagef("bad --isolation %q: process and hyperv isolation are Windows-only; on Linux the only isolation is default", f.Isolation)
	}
	switch f.Userns {
	case "", "host":
		hc.UsernsMode = f.Userns
	default:
		return cli.Usagef("bad --userns %q: lepton does no user namespace remapping, so containers use the host's (--userns host); want host", f.Userns)
	}
	switch f.VolumeDriver {
	case "", "local":
		hc.VolumeDriver = f.VolumeDriver
	default:
		return cli.Usagef("bad --volume-driver %q: lepton has only local volumes; want local", f.VolumeDriver)
	}
	if t := f.DisableContentTrust; t != "" {
		on, err := strconv.ParseBool(t)
		switch {
		case err != nil:
			return cli.Usagef("bad --disable-content-trust %q: want true or false", t)
		case !on:
			return cli.Usagef("--disable-content-trust=false: lepton does not support content trust (Notary): it cannot verify image signatures; pull by digest (IMAGE@sha256:...) to pin an image")
		}
	}
	return nil
}

// refuse says why lepton cannot honour what these options ask.
func (f *moreFlags) refuse() error {
	switch {
	case f.GPUs != "":
		return cli.Usagef("--gpus is not supported: lepton has no GPU support (it needs NVIDIA's container toolkit hooks); --device /dev/... passes a device node through")
	case f.IP6 != "":
		return cli.Usagef("--ip6 is not supported: lepton's networks are IPv4; use --ip")
	case len(f.LinkLocalIP) > 0:
		return cli.Usagef("--link-local-ip is not supported: lepton's networks have no link-local addresses; use --ip on a user-defined network")
	case f.KernelMemory != "":
		return cli.Usagef("--kernel-memory is not supported: kernel memory limits are gone from cgroup v2 and deprecated in docker, which ignores them; --memory limits kernel memory with the rest")
	case len(f.StorageOpt) > 0:
		return cli.Usagef("--storage-opt is not supported: the overlayfs snapshotter has no per-container size; mount a volume or a --tmpfs with a size for space that is limited")
	case f.UseAPISocket:
		return cli.Usagef("--use-api-socket is not supported: lepton has no daemon, so there is no API socket to mount")
	}
	return nil
}

// planBlkio checks the per-device block I/O options, with docker's
// formats (DEV:WEIGHT, DEV:RATE with RAMInBytes' units, DEV:N).
func (f *moreFlags) planBlkio(hc *containers.HostConfig) error {
	for _, s := range f.BlkioWeightDevice {
		dev, w, ok := strings.Cut(s, ":")
		n, err := strconv.ParseUint(w, 10, 16)
		switch {
		case !ok || !strings.HasPrefix(dev, "/dev/"):
			return cli.Usagef("bad --blkio-weight-device %q: want DEV:WEIGHT, such as /dev/sda:200", s)
		case err != nil || n < 10 || n > 1000:
			return cli.Usagef("bad --blkio-weight-device %q: the weight's range is 10 to 1000", s)
		}
		if err := checkBlockDevice("--blkio-weight-device", s, dev); err != nil {
			return err
		}
		hc.BlkioWeightDevice = append(hc.BlkioWeightDevice, containers.WeightDevice{Path: dev, Weight: uint16(n)})
	}
	for _, t := range []struct {
		flag, example string
		in            []string
		out           *[]containers.ThrottleDevice
		bps           bool
	}{
		{"--device-read-bps", "1mb", f.DeviceReadBps, &hc.BlkioDeviceReadBps, true},
		{"--device-write-bps", "1mb", f.DeviceWriteBps, &hc.BlkioDeviceWriteBps, true},
		{"--device-read-iops", "100", f.DeviceReadIOps, &hc.BlkioDeviceReadIOps, false},
		{"--device-write-iops", "100", f.DeviceWriteIOps, &hc.BlkioDeviceWriteIOps, false},
	} {
		for _, s := range t.in {
			dev, v, ok := strings.Cut(s, ":")
			if !ok || !strings.HasPrefix(dev, "/dev/") {
				return cli.Usagef("bad %s %q: want DEV:RATE, such as /dev/sda:%s", t.flag, s, t.example)
			}
			var rate uint64
			if t.bps {
				n, err := units.RAMInBytes(v)
				if err != nil || n < 0 {
					return cli.Usagef("bad %s %q: want a rate in bytes a second, a whole number with an optional unit (kb, mb or gb), such as 1mb", t.flag, s)
				}
				rate = uint64(n)
			} else {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return cli.Usagef("bad %s %q: want a whole number of operations a second, such as 100", t.flag, s)
				}
				rate = n
			}
			if err := checkBlockDevice(t.flag, s, dev); err != nil {
				return err
			}
			*t.out = append(*t.out, containers.ThrottleDevice{Path: dev, Rate: rate})
		}
	}
	return nil
}

// checkBlockDevice refuses a device that is not there, or is not a block
// device: the limits are the block layer's.
func checkBlockDevice(flag, arg, dev string) error {
	fi, err := os.Stat(dev)
	if err != nil {
		return cli.Usagef("bad %s %q: %v", flag, arg, err)
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return cli.Usagef("bad %s %q: %s is not a block device (the limits apply to disks, such as /dev/sda)", flag, arg, dev)
	}
	return nil
}
