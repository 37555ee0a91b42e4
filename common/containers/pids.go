//go:build !windows

package containers

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
)

// Pids lists the processes of a running task, as host PIDs. runc reads
// them from the container's cgroup; a rootless container without one
// (cgroup v1) has none, so there they are the task's init and its
// descendants, from /proc.
func Pids(ctx context.Context, task containerd.Task) ([]int, error) {
	ps, err := task.Pids(ctx)
	if err == nil {
		out := make([]int, 0, len(ps))
		for _, p := range ps {
			out = append(out, int(p.Pid))
		}
		return out, nil
	}
	if parent, ok := rootlessCgroups(); !ok || parent != "" {
		return nil, err
	}
	return descendants(int(task.Pid())), nil
}

// descendants is pid and every process below it, in PID order.
func descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		pp, _ := strconv.Atoi(fields[1])
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	sort.Ints(out)
	return out
}
