//go:build !windows

package run

import (
	"context"
	"math"
	"runtime"

	ctrs "github.com/containerd/containerd/v2/core/containers"
	units "github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// updateCmd is docker update: run's cgroup options and --restart, on
// containers that exist.
type updateCmd struct {
	cli.Command
	CPUs              string     `long:"cpus" value-name:"<N>" description:"CPUs the container may use (e.g. 1.5)"`
	CPUShares         *int64     `short:"c" long:"cpu-shares" value-name:"<N>" description:"Relative CPU weight, 2 to 262144 (default 1024)"`
	CPUPeriod         *int64     `long:"cpu-period" value-name:"<USEC>" description:"CFS period in microseconds, 1000 to 1000000"`
	CPUQuota          *int64     `long:"cpu-quota" value-name:"<USEC>" description:"CFS quota: microseconds of CPU time in each period, 1000 or more; -1 for none"`
	CpusetCpus        *string    `long:"cpuset-cpus" value-name:"<LIST>" description:"CPUs the container may run on (e.g. 0-2,4)"`
	CpusetMems        *string    `long:"cpuset-mems" value-name:"<LIST>" description:"Memory nodes the container may use (e.g. 0)"`
	Memory            string     `short:"m" long:"memory" value-name:"<BYTES>" description:"Memory limit, 6m or more (e.g. 256m)"`
	MemoryReservation string     `long:"memory-reservation" value-name:"<BYTES>" description:"Soft memory limit, at most the memory limit"`
	MemorySwap        swapSize   `long:"memory-swap" value-name:"<BYTES>" description:"Memory plus swap limit, at least the memory limit; -1 for unlimited swap"`
	PidsLimit         *int64     `long:"pids-limit" value-name:"<N>" description:"Process limit; -1 for none"`
	BlkioWeight       *uint16    `long:"blkio-weight" value-name:"<N>" description:"Relative block I/O weight, 10 to 1000"`
	Restart           string     `long:"restart" value-name:"<POLICY>" description:"Restart policy: no, always, on-failure[:N], unless-stopped"`
	Args              targetArgs `positional-args:"yes"`
}

func (c *updateCmd) run(ctx context.Context, a *app, rest []string) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	return a.forEach(ctx, append(c.Args.Containers, rest...), parallelTargets, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		return ref, cs.Update(ctx, info.ID, o)
	})
}

// options reads the flags into the library's options, checked: a bad
// value is a usage error, before any container is touched.
func (c *updateCmd) options() (containers.UpdateOptions, error) {
	o := containers.UpdateOptions{
		CPUShares: c.CPUShares, CPUPeriod: c.CPUPeriod, CPUQuota: c.CPUQuota,
		CpusetCpus: c.CpusetCpus, CpusetMems: c.CpusetMems, PidsLimit: c.PidsLimit, BlkioWeight: c.BlkioWeight,
	}
	size := func(flag, v, example string) (*int64, error) {
		if v == "" {
			return nil, nil
		}
		n, err := units.RAMInBytes(v)
		if err != nil || n <= 0 {
			return nil, cli.Usagef("bad %s %q: want a size such as %s", flag, v, example)
		}
		return &n, nil
	}
	var err error
	if o.Memory, err = size("--memory", c.Memory, "256m or 1g"); err != nil {
		return o, err
	}
	if o.MemoryReservation, err = size("--memory-reservation", c.MemoryReservation, "128m"); err != nil {
		return o, err
	}
	if c.MemorySwap == "-1" {
		unlimited := int64(-1)
		o.MemorySwap = &unlimited
	} else if o.MemorySwap, err = size("--memory-swap", string(c.MemorySwap), "512m, or -1 for unlimited swap"); err != nil {
		return o, err
	}
	if c.CPUs != "" {
		cpus, err := parseCPUs(c.CPUs, runtime.NumCPU())
		if err != nil {
			return o, err
		}
		n := int64(math.Round(cpus * 1e9))
		o.NanoCPUs = &n
	}
	if c.Restart != "" {
		p, err := parseRestart(c.Restart)
		if err != nil {
			return o, err
		}
		o.RestartPolicy = &p
	}
	if o.Empty() {
		return o, cli.Usagef("you must provide one or more flags when using this command: the resources to change (--memory, --cpus, --pids-limit, ...) or --restart")
	}
	if err := o.Check(); err != nil {
		return o, cli.Usagef("%s", err)
	}
	return o, nil
}
