//go:build !windows

package run

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type topCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

// run lists the container's processes from /proc, with the host's view of
// their IDs, like docker top's default "ps -ef" columns.
func (t *topCmd) run(ctx context.Context, a *app, rest []string) error {
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, t.Args.Container)
	if err != nil {
		return err
	}
	task, err := cs.RunningTask(ctx, info, t.Args.Container)
	if err != nil {
		return err
	}
	pids, err := containers.Pids(ctx, task)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.env.Stdout, 4, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "UID\tPID\tPPID\tSTAT\tCMD")
	for _, p := range pids {
		pid := strconv.Itoa(p)
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue // gone since the list was made
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		uid := "?"
		if st, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
			for _, line := range strings.Split(string(st), "\n") {
				if v, ok := strings.CutPrefix(line, "Uid:"); ok {
					if f := strings.Fields(v); len(f) > 0 {
						uid = f[0]
					}
				}
			}
		}
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		line := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		ppid, state := "?", "?"
		if len(fields) > 1 {
			state, ppid = fields[0], fields[1]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", uid, pid, ppid, state, line)
	}
	return tw.Flush()
}
