//go:build !windows

package compose

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type logsCmd struct {
	cli.Command
	Follow     bool   `short:"f" long:"follow" description:"Keep printing output until the containers stop"`
	Tail       string `short:"n" long:"tail" value-name:"<N>" default:"all" description:"Show only the last N lines of each container"`
	Since      string `long:"since" value-name:"<TIME>" description:"Only lines from this time on (RFC 3339, Unix seconds, or a duration such as 10m)"`
	Until      string `long:"until" value-name:"<TIME>" description:"Only lines up to this time"`
	Timestamps bool   `short:"t" long:"timestamps" description:"Show each line's time"`
	NoColor    bool   `long:"no-color" description:"Print the prefixes without colour"`
	NoPrefix   bool   `long:"no-log-prefix" description:"Print no container prefix"`
	Index      int    `long:"index" value-name:"<N>" description:"Only container N of each service"`
	Args       struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services whose output to show (default: all)"`
	} `positional-args:"yes"`
}

func (l *logsCmd) run(ctx context.Context, a *app, _ []string) error {
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
	_, cs, ms, err := a.targets(ctx, l.Args.Services, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	if l.Index > 0 {
		var keep []member
		for _, m := range ms {
			if m.number == l.Index {
				keep = append(keep, m)
			}
		}
		ms = keep
	}
	pr := newPrefixer(a.env.Stdout, a.env.Stderr, ms, !l.NoColor && cli.IsTerminal(a.env.Stdout))
	pr.none = l.NoPrefix
	printer := func(m member) *containers.LogPrinter {
		lp := pr.printer(m)
		lp.Timestamps, lp.Since, lp.Until = l.Timestamps, since, until
		return lp
	}
	if !l.Follow {
		// One container after the other: a listing reads in order.
		for _, m := range ms {
			if err := cs.ShowLog(ctx, m.info.ID, printer(m), tail, false); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, m := range ms {
		g.Go(func() error { return cs.ShowLog(gctx, m.info.ID, printer(m), tail, true) })
	}
	return g.Wait()
}

// prefixer gives each container's log lines docker compose's prefix,
// "web-1  | ", padded to the longest, coloured on a terminal, and makes
// sure lines of different containers never mix.
type prefixer struct {
	stdout, stderr io.Writer
	width          int
	color          bool
	none           bool
	index          map[string]int
}

func newPrefixer(stdout, stderr io.Writer, ms []member, color bool) *prefixer {
	var mu sync.Mutex
	pr := &prefixer{stdout: &lockedWriter{w: stdout, mu: &mu}, stderr: &lockedWriter{w: stderr, mu: &mu}, color: color, index: map[string]int{}}
	for i, m := range ms {
		pr.width = max(pr.width, len(prefixName(m)))
		pr.index[m.info.ID] = i
	}
	return pr
}

// prefixName is how docker compose names a container in log prefixes:
// SERVICE-N, or the container's name when it has one of its own.
func prefixName(m member) string {
	if m.oneoff || m.number == 0 {
		return m.name
	}
	return m.service + "-" + strconv.Itoa(m.number)
}

// ANSI colours docker compose cycles through for prefixes.
var colors = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

func (pr *prefixer) printer(m member) *containers.LogPrinter {
	lp := &containers.LogPrinter{Stdout: pr.stdout, Stderr: pr.stderr}
	if pr.none {
		return lp
	}
	name := prefixName(m)
	prefix := name + strings.Repeat(" ", pr.width-len(name)) + "  | "
	if pr.color {
		prefix = "\x1b[" + colors[pr.index[m.info.ID]%len(colors)] + "m" + prefix + "\x1b[0m"
	}
	lp.Prefix = prefix
	return lp
}

// lockedWriter writes each line whole: LogPrinter writes a line at a
// time, and the lock keeps two containers' lines apart.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
