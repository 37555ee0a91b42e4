//go:build !windows

package run

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type logsCmd struct {
	cli.Command
	Follow     bool   `short:"f" long:"follow" description:"Keep printing output until the container stops"`
	Tail       string `short:"n" long:"tail" value-name:"<N>" default:"all" description:"Show only the last N lines"`
	Since      string `long:"since" value-name:"<TIME>" description:"Only lines from this time on (RFC 3339, Unix seconds, or a duration such as 10m)"`
	Until      string `long:"until" value-name:"<TIME>" description:"Only lines up to this time (same forms as --since); with -f, stop following then"`
	Timestamps bool   `short:"t" long:"timestamps" description:"Prefix each line with its time"`
	Details    bool   `long:"details" description:"Prefix each line with its extra attributes, as docker does (lepton records none, so this is a space)"`
	Args       struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

func (l *logsCmd) run(ctx context.Context, a *app, rest []string) error {
	tail := -1
	if l.Tail != "all" {
		n, err := strconv.Atoi(l.Tail)
		if err != nil || n < 0 {
			return cli.Usagef("bad --tail %q: want a number or all", l.Tail)
		}
		tail = n
	}
	now := time.Now()
	since, err := cli.ParseTime(l.Since, now)
	if err != nil {
		return err
	}
	until, err := cli.ParseTime(l.Until, now)
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, l.Args.Container)
	if err != nil {
		return err
	}
	pr := &containers.LogPrinter{Stdout: a.env.Stdout, Stderr: a.env.Stderr, Timestamps: l.Timestamps, Details: l.Details, Since: since, Until: until}
	return cs.ShowLog(ctx, info.ID, pr, tail, l.Follow)
}

// followLog prints the log from offset from until done is closed and the
// logging process has written everything, waiting for it at most drain
// (long when the caller deleted the task, which ends the logger; short
// when the task is kept and the logger lives on).
func followLog(ctx context.Context, dir string, from int64, stdout, stderr io.Writer, done <-chan struct{}, drain time.Duration) error {
	pr := &containers.LogPrinter{Stdout: stdout, Stderr: stderr}
	return pr.Follow(ctx, dir, nil, from, done, drain)
}
