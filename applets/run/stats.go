//go:build !windows

package run

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type statsCmd struct {
	cli.Command
	All      bool   `short:"a" long:"all" description:"Show all containers, not only running ones"`
	NoStream bool   `long:"no-stream" description:"Print one sample and exit"`
	Format   string `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
	Args     struct {
		Containers []string `positional-arg-name:"<CONTAINER>" description:"Containers to watch (default: all running)"`
	} `positional-args:"yes"`
}

// statsItem is one row, with docker's field names.
type statsItem struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

// sample is what the cgroup said at one moment, on v1 or v2 alike.
type sample struct {
	at                time.Time
	cpuNanos          uint64
	mem, limit        uint64
	pids              uint64
	blkRead, blkWrite uint64
	ok                bool
}

func (s *statsCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := cli.CheckFormat(s.Format); err != nil {
		return err
	}
	// Without a cgroup of its own a container's figures would be its
	// parent's, the whole daemon's: wrong, so none.
	if err := containers.CgroupsMissing("stats"); err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	targets := append(s.Args.Containers, rest...)
	type target struct{ id, name string }
	var list []target
	if len(targets) == 0 {
		all, err := c.ContainerService().List(ctx)
		if err != nil {
			return err
		}
		for _, info := range all {
			if s.All {
				list = append(list, target{info.ID, info.Labels[containers.LabelName]})
			} else if running, _ := cs.Running(ctx, info.ID); running {
				list = append(list, target{info.ID, info.Labels[containers.LabelName]})
			}
		}
	} else {
		for _, t := range targets {
			info, err := cs.Resolve(ctx, t)
			if err != nil {
				return err
			}
			list = append(list, target{info.ID, info.Labels[containers.LabelName]})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	prev := map[string]sample{}
	for _, t := range list {
		prev[t.id] = a.sample(ctx, c, t.id)
	}
	interval := time.Second
	if s.NoStream {
		interval = 500 * time.Millisecond // two samples to measure CPU between
	}
	tty := cli.IsTerminal(a.env.Stdout) && !s.NoStream
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
		var items []statsItem
		for _, t := range list {
			cur := a.sample(ctx, c, t.id)
			items = append(items, statsRow(t.id, t.name, prev[t.id], cur))
			prev[t.id] = cur
		}
		if tty {
			fmt.Fprint(a.env.Stdout, "\033[2J\033[H") // redraw in place, as docker does
		}
		if err := cli.Print(a.env.Stdout, s.Format, cli.Table{
			Headers: []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"},
			Row:     "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
		}, items); err != nil {
			return err
		}
		if s.NoStream {
			return nil
		}
	}
}

func statsRow(id, name string, prev, cur sample) statsItem {
	it := statsItem{ID: id[:12], Container: id[:12], Name: name, NetIO: "--", CPUPerc: "--", MemPerc: "--", MemUsage: "-- / --", BlockIO: "--", PIDs: "--"}
	if !cur.ok {
		return it
	}
	if prev.ok && cur.at.After(prev.at) && cur.cpuNanos >= prev.cpuNanos {
		it.CPUPerc = fmt.Sprintf("%.2f%%", float64(cur.cpuNanos-prev.cpuNanos)/float64(cur.at.Sub(prev.at).Nanoseconds())*100)
	}
	limit := cur.limit
	if host := hostMemory(); limit == 0 || limit > host && host > 0 {
		limit = host
	}
	it.MemUsage = bytesIEC(cur.mem) + " / " + bytesIEC(limit)
	if limit > 0 {
		it.MemPerc = fmt.Sprintf("%.2f%%", float64(cur.mem)/float64(limit)*100)
	}
	it.BlockIO = bytesSI(cur.blkRead) + " / " + bytesSI(cur.blkWrite)
	it.NetIO = "0B / 0B" // no network but loopback or the host's, which is not the container's to count
	it.PIDs = fmt.Sprint(cur.pids)
	return it
}

// sample reads the container's cgroup through containerd, for cgroup v1
// and v2 hosts alike; a stopped container gives an empty sample.
func (a *app) sample(ctx context.Context, c *containerd.Client, id string) sample {
	s := sample{at: time.Now()}
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return s
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return s
	}
	m, err := task.Metrics(ctx)
	if err != nil || m.Data == nil {
		return s
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return s
	}
	switch v := data.(type) {
	case *v1.Metrics:
		s.ok = true
		if v.CPU != nil && v.CPU.Usage != nil {
			s.cpuNanos = v.CPU.Usage.Total
		}
		if v.Memory != nil && v.Memory.Usage != nil {
			s.mem, s.limit = v.Memory.Usage.Usage, v.Memory.Usage.Limit
			if s.mem > v.Memory.TotalInactiveFile {
				s.mem -= v.Memory.TotalInactiveFile
			}
		}
		if v.Pids != nil {
			s.pids = v.Pids.Current
		}
		if v.Blkio != nil {
			for _, e := range v.Blkio.IoServiceBytesRecursive {
				switch strings.ToLower(e.Op) {
				case "read":
					s.blkRead += e.Value
				case "write":
					s.blkWrite += e.Value
				}
			}
		}
	case *v2.Metrics:
		s.ok = true
		if v.CPU != nil {
			s.cpuNanos = v.CPU.UsageUsec * 1000
		}
		if v.Memory != nil {
			s.mem, s.limit = v.Memory.Usage, v.Memory.UsageLimit
			if s.mem > v.Memory.InactiveFile {
				s.mem -= v.Memory.InactiveFile
			}
		}
		if v.Pids != nil {
			s.pids = v.Pids.Current
		}
		if v.Io != nil {
			for _, e := range v.Io.Usage {
				s.blkRead += e.Rbytes
				s.blkWrite += e.Wbytes
			}
		}
	}
	return s
}

func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			fmt.Sscan(v, &kb)
		}
	}
	return kb * 1024
}

func bytesIEC(n uint64) string { return scaled(n, 1024, []string{"B", "KiB", "MiB", "GiB", "TiB"}) }
func bytesSI(n uint64) string  { return scaled(n, 1000, []string{"B", "kB", "MB", "GB", "TB"}) }

func scaled(n uint64, unit float64, names []string) string {
	f, i := float64(n), 0
	for f >= unit && i < len(names)-1 {
		f /= unit
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.4g%s", f, names[i])
}
