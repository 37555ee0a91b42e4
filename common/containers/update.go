//go:build !windows

package containers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/lepton-project/lepton/common/store"
)

// UpdateOptions are what Update changes, as docker update's flags: a nil
// field is left as it is. Sizes are bytes, CPU times microseconds.
type UpdateOptions struct {
	Memory            *int64 // the limit, 6MiB or more
	MemoryReservation *int64 // soft limit, 6MiB to Memory
	MemorySwap        *int64 // memory plus swap, at least Memory; -1 unlimited swap
	NanoCPUs          *int64 // CPUs in billionths (--cpus 0.5 is 5e8)
	CPUShares         *int64 // relative weight, 2 to 262144
	CPUPeriod         *int64 // CFS period, 1000 to 1000000
	CPUQuota          *int64 // CFS quota, 1000 or more; -1 none
	CpusetCpus        *string
	CpusetMems        *string
	PidsLimit         *int64  // 0 or -1: no limit
	BlkioWeight       *uint16 // 10 to 1000
	RestartPolicy     *RestartPolicy
}

// minMemory is the smallest memory limit docker (and so lepton) sets: below
// it a container cannot even start its runtime's init.
const minMemory = 6 * 1024 * 1024

// Empty says whether o changes nothing.
func (o *UpdateOptions) Empty() bool { return *o == UpdateOptions{} }

// resources says whether o changes a cgroup setting (not only the policy).
func (o *UpdateOptions) resources() bool {
	c := *o
	c.RestartPolicy = nil
	return !c.Empty()
}

// Check refuses values no container could take, before any is touched:
// docker's ranges, and the rules between values given together. Rules
// against the container's own settings are Update's.
func (o *UpdateOptions) Check() error {
	bad := func(format string, a ...any) error {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, a...))
	}
	if o.Empty() {
		return bad("nothing to update: give a resource or a restart policy")
	}
	if m := o.Memory; m != nil && *m < minMemory {
		return bad("--memory %s is below the smallest memory limit, 6MiB", size(*m))
	}
	if r := o.MemoryReservation; r != nil && *r < minMemory {
		return bad("--memory-reservation %s is below the smallest soft limit, 6MiB", size(*r))
	}
	if s := o.MemorySwap; s != nil {
		switch {
		case *s < -1 || *s == 0:
			return bad("bad --memory-swap %d: want a size of memory plus swap, or -1 for unlimited swap", *s)
		case *s > 0 && o.Memory != nil && *s < *o.Memory:
			return bad("--memory-swap %s is less than --memory %s: it is memory plus swap, so it must be at least the memory limit (-1 for unlimited swap)", size(*s), size(*o.Memory))
		}
	}
	if r, m := o.MemoryReservation, o.Memory; r != nil && m != nil && *r > *m {
		return bad("--memory-reservation %s is above --memory %s: a soft limit above the limit would never apply", size(*r), size(*m))
	}
	if n := o.NanoCPUs; n != nil {
		have := int64(runtime.NumCPU())
		if *n < 1e7 || *n > have*1e9 {
			return bad("bad --cpus %g: the range is 0.01 to %d, as this machine has %d CPUs", float64(*n)/1e9, have, have)
		}
		if o.CPUPeriod != nil || o.CPUQuota != nil {
			return bad("conflicting options: --cpus and --cpu-period/--cpu-quota (--cpus N is --cpu-period 100000 --cpu-quota N*100000)")
		}
	}
	if s := o.CPUShares; s != nil && (*s < 2 || *s > 262144) {
		return bad("bad --cpu-shares %d: the range is 2 to 262144 (1024 is the default weight)", *s)
	}
	if p := o.CPUPeriod; p != nil && (*p < 1000 || *p > 1000000) {
		return bad("bad --cpu-period %d: the range is 1000 to 1000000 microseconds (1ms to 1s)", *p)
	}
	if q := o.CPUQuota; q != nil && *q != -1 && *q < 1000 {
		return bad("bad --cpu-quota %d: the smallest is 1000 microseconds (1ms), or -1 for none", *q)
	}
	if c := o.CpusetCpus; c != nil {
		if err := CheckCpusetCpus(*c); err != nil {
			return err
		}
	}
	if m := o.CpusetMems; m != nil {
		if err := CheckCpusetMems(*m); err != nil {
			return err
		}
	}
	if p := o.PidsLimit; p != nil && *p < -1 {
		return bad("bad --pids-limit %d: want a number of processes, or -1 for no limit", *p)
	}
	if w := o.BlkioWeight; w != nil && (*w < 10 || *w > 1000) {
		return bad("bad --blkio-weight %d: the range is 10 to 1000", *w)
	}
	if p := o.RestartPolicy; p != nil {
		switch p.Name {
		case "no", "always", "unless-stopped", "on-failure":
		default:
			return bad("bad restart policy %q: want no, always, on-failure or unless-stopped", p.Name)
		}
		if p.MaximumRetryCount < 0 || p.MaximumRetryCount > 0 && p.Name != "on-failure" {
			return bad("bad restart policy %s:%d: only on-failure takes a retry count, of 0 or more", p.Name, p.MaximumRetryCount)
		}
	}
	return nil
}

// hostCheck refuses what this host's cgroups cannot do, as run does.
func (o *UpdateOptions) hostCheck() error {
	if o.BlkioWeight != nil {
		if err := checkBlkioWeight("--blkio-weight"); err != nil {
			return err
		}
	}
	if o.MemorySwap != nil {
		r := Resources{MemorySwap: *o.MemorySwap}
		if err := r.checkMemory(); err != nil {
			return err
		}
	}
	return nil
}

func size(n int64) string { return units.BytesSize(float64(n)) }

// Update changes container id's resources and restart policy, as docker
// update does. A running or paused container's cgroup changes at once;
// then its OCI spec, so every later start keeps the change, and its
// record, which inspect shows. The task goes first: when the kernel
// refuses a value (a memory limit below what the container uses now),
// nothing else has changed. Update waits (30s at most) for another
// lepton at work on the container (a start, a rename) and holds its
// name's lock while it reads and rewrites the container, so neither loses
// the other's change.
func (d *Containers) Update(ctx context.Context, id string, o UpdateOptions) error {
	if err := o.Check(); err != nil {
		return err
	}
	if err := o.hostCheck(); err != nil {
		return err
	}
	if parent, ok := rootlessCgroups(); ok && parent == "" && o.resources() {
		return errNoCgroups("update")
	}
	return d.underName(ctx, id, func(info containers.Container) error {
		if err := d.update(ctx, info, &o); err != nil {
			return err
		}
		d.publish(ctx, info, "update", nil)
		return nil
	})
}

// busyWait is how long underName waits for another lepton at work.
const busyWait = 30 * time.Second

// underName runs fn with container id read afresh under its name's lock,
// once no other live lepton is at work on it (starting, creating or
// renaming it: such a claim is marked with its Op). A start or rename
// that comes while fn runs waits on the same lock. A container lepton did
// not name (made with ctr) has no claim to honour.
func (d *Containers) underName(ctx context.Context, id string, fn func(info containers.Container) error) error {
	deadline := time.Now().Add(busyWait)
	pause := 20 * time.Millisecond
	for {
		info, err := d.client.ContainerService().Get(ctx, id)
		if err != nil {
			return err
		}
		name := info.Labels[LabelName]
		if name == "" || store.ValidateKey(name) != nil {
			return fn(info)
		}
		var busy *Claim
		again := false
		err = d.names.Locked(ctx, name, func(cl *Claim, ok bool, _ *store.Record) error {
			if ok && cl.ID == id && cl.Busy() && cl.PID != os.Getpid() {
				c := *cl
				busy = &c
				return nil
			}
			fresh, err := d.client.ContainerService().Get(ctx, id)
			if err != nil {
				return err
			}
			if fresh.Labels[LabelName] != name {
				again = true // renamed since: take the new name's lock
				return nil
			}
			return fn(fresh)
		})
		if err != nil || busy == nil && !again {
			return err
		}
		if busy != nil && time.Now().After(deadline) {
			return busy.busy(name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

func (d *Containers) update(ctx context.Context, info containers.Container, o *UpdateOptions) error {
	cfg := ConfigOf(info)
	_, hasRecord := info.Extensions[extConfig]
	hc := &cfg.HostConfig
	wasRestarting := hc.RestartPolicy.Restarts()
	if err := o.apply(hc, cfg.Name); err != nil {
		return err
	}
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	oldSpec, err := ctr.Spec(ctx)
	if err != nil {
		return err
	}
	spec, err := cloneSpec(oldSpec)
	if err != nil {
		return err
	}
	o.applySpec(spec, hc)
	if o.RestartPolicy != nil && onNetwork(cfg) && wasRestarting != hc.RestartPolicy.Restarts() {
		// The restart monitor starts the task with no lepton around, so
		// runc's hooks join its networks; a lepton start joins them itself.
		dropNetworkHooks(spec)
		if hc.RestartPolicy.Restarts() {
			self, err := d.loggerPath()
			if err != nil {
				return err
			}
			if err := withNetworkHooks(self, d.dataRoot, d.namespace, d.Dir(info.ID))(ctx, nil, nil, spec); err != nil {
				return err
			}
		}
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil {
		return err
	}
	live := task != nil && (st == containerd.Running || st == containerd.Paused)
	var updated uint32 // the pid of the task given the new limits
	if live && o.resources() {
		if err := setTask(ctx, task, spec, o, cfg.Name); err == nil {
			updated = task.Pid()
		} else if !ended(ctx, ctr, task) {
			return err
		} // else it ended meanwhile (a stop): the spec is for its next start
	}
	c := containers.Container{ID: info.ID, Labels: map[string]string{}}
	paths := []string{"spec"}
	if c.Spec, err = typeurl.MarshalAny(spec); err != nil {
		return err
	}
	if hasRecord {
		b, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		c.Extensions = map[string]typeurl.Any{extConfig: &rawAny{url: configTypeURL, value: b}}
		paths = append(paths, "extensions."+extConfig)
	}
	if o.RestartPolicy != nil {
		labels, err := d.restartLabels(info, hc.RestartPolicy, live)
		if err != nil {
			return err
		}
		for k, v := range labels {
			c.Labels[k] = v // "" removes the label
			paths = append(paths, "labels."+k)
		}
	}
	if _, err := d.client.ContainerService().Update(ctx, c, paths...); err != nil {
		if updated != 0 {
			// Put the task back as its spec still says.
			setTask(context.WithoutCancel(ctx), task, oldSpec, o, cfg.Name)
		}
		return fmt.Errorf("update container %s: %w", cfg.Name, err)
	}
	// The restart monitor starts tasks without asking lepton: one it
	// started from the old spec while this ran gets the new limits too.
	if o.resources() {
		if t, st, err := taskStatus(ctx, ctr); err == nil && t != nil && t.Pid() != updated &&
			(st == containerd.Running || st == containerd.Paused) {
			if err := setTask(ctx, t, spec, o, cfg.Name); err != nil && !ended(ctx, ctr, t) {
				return err
			}
		}
	}
	return nil
}

// ended says whether task is no longer running: stopped, gone or
// replaced.
func ended(ctx context.Context, ctr containerd.Container, task containerd.Task) bool {
	now, st, err := taskStatus(ctx, ctr)
	return err == nil && (now == nil || now.Pid() != task.Pid() || st != containerd.Running && st != containerd.Paused)
}

// apply sets o on the container's HostConfig, checking it against what
// the container has: docker's rules between the CFS flags and --cpus,
// memory and swap, and --rm against restarting.
func (o *UpdateOptions) apply(hc *HostConfig, name string) error {
	bad := func(format string, a ...any) error {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf(format, a...))
	}
	switch {
	case o.NanoCPUs != nil && (hc.CPUPeriod > 0 || hc.CPUQuota > 0):
		return bad("container %s has a CFS period or quota (--cpu-period/--cpu-quota): update those instead of --cpus", name)
	case (o.CPUPeriod != nil || o.CPUQuota != nil) && hc.NanoCPUs > 0:
		return bad("container %s has --cpus: update --cpus instead of --cpu-period/--cpu-quota", name)
	}
	if p := o.RestartPolicy; p != nil && p.Restarts() && hc.AutoRemove {
		return bad("container %s was run with --rm: it is removed when it exits, so it cannot be given restart policy %s", name, p.Name)
	}
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&hc.Memory, o.Memory)
	set(&hc.MemoryReservation, o.MemoryReservation)
	set(&hc.MemorySwap, o.MemorySwap)
	set(&hc.NanoCPUs, o.NanoCPUs)
	set(&hc.CPUShares, o.CPUShares)
	set(&hc.CPUPeriod, o.CPUPeriod)
	set(&hc.CPUQuota, o.CPUQuota)
	set(&hc.PidsLimit, o.PidsLimit)
	if o.CpusetCpus != nil {
		hc.CpusetCpus = *o.CpusetCpus
	}
	if o.CpusetMems != nil {
		hc.CpusetMems = *o.CpusetMems
	}
	if o.BlkioWeight != nil {
		hc.BlkioWeight = *o.BlkioWeight
	}
	if o.RestartPolicy != nil {
		hc.RestartPolicy = *o.RestartPolicy
	}
	switch {
	case hc.MemorySwap > 0 && hc.Memory == 0:
		return bad("container %s has no memory limit: --memory-swap limits memory plus swap, so give --memory as well", name)
	case hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory:
		if o.MemorySwap == nil {
			return bad("--memory %s is above container %s's --memory-swap %s (memory plus swap): update --memory-swap as well", size(hc.Memory), name, size(hc.MemorySwap))
		}
		return bad("--memory-swap %s is less than container %s's memory limit %s: it is memory plus swap, so it must be at least the memory limit", size(hc.MemorySwap), name, size(hc.Memory))
	case hc.Memory > 0 && hc.MemoryReservation > hc.Memory:
		return bad("--memory-reservation %s is above container %s's memory limit %s: a soft limit above the limit would never apply", size(hc.MemoryReservation), name, size(hc.Memory))
	}
	return nil
}

// applySpec writes the values o changes, as hc now has them, into spec's
// cgroup resources; the rest of them (devices, throttles) stay.
func (o *UpdateOptions) applySpec(spec *oci.Spec, hc *HostConfig) {
	if !o.resources() {
		return
	}
	setResources(spec)
	r := spec.Linux.Resources
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	ptr := func(v int64) *int64 {
		if v == 0 {
			return nil
		}
		return &v
	}
	if o.Memory != nil {
		r.Memory.Limit = ptr(hc.Memory)
	}
	if o.MemoryReservation != nil {
		r.Memory.Reservation = ptr(hc.MemoryReservation)
	}
	if o.MemorySwap != nil {
		r.Memory.Swap = ptr(hc.MemorySwap)
	}
	if o.NanoCPUs != nil {
		const period = 100000
		p, q := uint64(period), hc.NanoCPUs*period/1e9
		r.CPU.Period, r.CPU.Quota = &p, &q
	}
	if o.CPUPeriod != nil {
		p := uint64(hc.CPUPeriod)
		r.CPU.Period = &p
	}
	if o.CPUQuota != nil {
		r.CPU.Quota = &hc.CPUQuota
	}
	if o.CPUShares != nil {
		s := uint64(hc.CPUShares)
		r.CPU.Shares = &s
	}
	if o.CpusetCpus != nil {
		r.CPU.Cpus = hc.CpusetCpus
	}
	if o.CpusetMems != nil {
		r.CPU.Mems = hc.CpusetMems
	}
	if o.PidsLimit != nil {
		// -1 rather than nothing: a running task's limit must be lifted.
		l := hc.PidsLimit
		if l <= 0 {
			l = -1
		}
		r.Pids = &specs.LinuxPids{Limit: &l}
	}
	if o.BlkioWeight != nil {
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		w := hc.BlkioWeight
		r.BlockIO.Weight = &w
	}
}

// setTask gives a running task the cgroup values o changes, as spec has
// them. runc takes an unset (zero) value as "leave it", so only those go.
func setTask(ctx context.Context, task containerd.Task, spec *oci.Spec, o *UpdateOptions, name string) error {
	var from specs.LinuxResources
	if spec.Linux != nil && spec.Linux.Resources != nil {
		from = *spec.Linux.Resources
	}
	var r specs.LinuxResources
	if m := from.Memory; m != nil && (o.Memory != nil || o.MemoryReservation != nil || o.MemorySwap != nil) {
		r.Memory = &specs.LinuxMemory{Limit: m.Limit, Reservation: m.Reservation, Swap: m.Swap}
		if o.Memory != nil && m.Limit != nil {
			if err := checkUsage(task.Pid(), *m.Limit, name); err != nil {
				return err
			}
		}
	}
	if c := from.CPU; c != nil && (o.NanoCPUs != nil || o.CPUPeriod != nil || o.CPUQuota != nil || o.CPUShares != nil || o.CpusetCpus != nil || o.CpusetMems != nil) {
		r.CPU = &specs.LinuxCPU{Shares: c.Shares, Quota: c.Quota, Period: c.Period, Cpus: c.Cpus, Mems: c.Mems}
	}
	if o.PidsLimit != nil {
		r.Pids = from.Pids
	}
	if o.BlkioWeight != nil && from.BlockIO != nil {
		r.BlockIO = &specs.LinuxBlockIO{Weight: from.BlockIO.Weight}
	}
	if err := task.Update(ctx, containerd.WithResources(&r)); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "unable to set memory limit") || strings.Contains(msg, "device or resource busy") {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s uses more memory than the new limit and the kernel cannot reclaim it (%s): free memory in it, or give a larger --memory", name, kernelReason(msg)))
		}
		return fmt.Errorf("update the cgroup of container %s: %w", name, err)
	}
	return nil
}

// kernelReason is the tail of runc's message, where it says what the
// kernel refused.
func kernelReason(msg string) string {
	if i := strings.Index(msg, "unable to set memory limit"); i >= 0 {
		msg = msg[i:]
	}
	return strings.TrimSuffix(strings.TrimSpace(msg), ": unknown")
}

// checkUsage refuses, on cgroup v2, a memory limit below what the task's
// cgroup holds that the kernel cannot reclaim: there, unlike cgroup v1,
// the kernel takes the limit and kills the container's processes rather
// than refusing it.
func checkUsage(pid uint32, limit int64, name string) error {
	if !unifiedCgroups() || pid == 0 {
		return nil
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	var dir string
	for s := bufio.NewScanner(f); s.Scan(); {
		if p, ok := strings.CutPrefix(s.Text(), "0::"); ok {
			dir = filepath.Join(cgroupRoot, filepath.Clean("/"+p))
		}
	}
	read := func(file string) (int64, bool) {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n, err == nil
	}
	cur, ok := read("memory.current")
	if dir == "" || !ok {
		return nil
	}
	// The page cache the kernel can drop: "file" counts tmpfs and shared
	// memory too, which it cannot (without swap).
	stat := map[string]int64{}
	if b, err := os.ReadFile(filepath.Join(dir, "memory.stat")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok {
				stat[k], _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	reclaimable := stat["file"] - stat["shmem"]
	if used := cur - reclaimable; limit < used {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s uses more memory than the new limit (%s in use beside its page cache, limit %s): on cgroup v2 the kernel would kill its processes; free memory in it, or give a larger --memory", name, size(used), size(limit)))
	}
	return nil
}

// restartLabels are the restart monitor's labels for policy p ("" removes
// one). A running container is handed to the monitor (with the logger it
// restarts the task with); a stopped one stays stopped, as in docker,
// unless the monitor already had it.
func (d *Containers) restartLabels(info containers.Container, p RestartPolicy, live bool) (map[string]string, error) {
	if !p.Restarts() {
		return map[string]string{restart.PolicyLabel: "", restart.StatusLabel: "", restart.LogURILabel: "", restart.CountLabel: ""}, nil
	}
	labels := p.labels()
	if live {
		self, err := d.loggerPath()
		if err != nil {
			return nil, err
		}
		labels[restart.StatusLabel] = "running"
		labels[restart.LogURILabel] = (&logURI{self: self, dir: d.Dir(info.ID)}).String()
	}
	return labels, nil
}

// dropNetworkHooks takes lepton's network hooks (see withNetworkHooks) out
// of spec.
func dropNetworkHooks(spec *oci.Spec) {
	if spec.Hooks == nil {
		return
	}
	ours := func(h specs.Hook) bool {
		return len(h.Args) > 1 && h.Args[0] == "lepton-network" && slices.Contains(h.Args, "__hook")
	}
	spec.Hooks.CreateRuntime = slices.DeleteFunc(spec.Hooks.CreateRuntime, ours)
	spec.Hooks.Poststop = slices.DeleteFunc(spec.Hooks.Poststop, ours)
}

func cloneSpec(s *oci.Spec) (*oci.Spec, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var out oci.Spec
	return &out, json.Unmarshal(b, &out)
}
