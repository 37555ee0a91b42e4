//go:build !windows

package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type logsCmd struct {
	cli.Command
	Follow     bool   `short:"f" long:"follow" description:"Keep printing output until the container stops"`
	Tail       string `short:"n" long:"tail" value-name:"<N>" default:"all" description:"Show only the last N lines"`
	Since      string `long:"since" value-name:"<TIME>" description:"Only lines from this time on (RFC 3339, Unix seconds, or a duration such as 10m)"`
	Until      string `long:"until" value-name:"<TIME>" description:"Only lines before this time (same forms as --since)"`
	Timestamps bool   `short:"t" long:"timestamps" description:"Prefix each line with its time"`
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
	since, err := parseTime(l.Since, now)
	if err != nil {
		return err
	}
	until, err := parseTime(l.Until, now)
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, l.Args.Container)
	if err != nil {
		return err
	}
	dir := cs.Dir(info.ID)
	pr := &logPrinter{stdout: a.env.Stdout, stderr: a.env.Stderr, timestamps: l.Timestamps, since: since, until: until}

	f, err := os.Open(containers.LogPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil // never started: no output yet
	}
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	// Only whole lines; a line being written is picked up by -f.
	end := bytes.LastIndexByte(data, '\n') + 1
	lines := bytes.SplitAfter(data[:end], []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if tail >= 0 && len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	for _, ln := range lines {
		pr.print(ln)
	}
	if !l.Follow {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			return
		}
		ch, err := task.Wait(ctx)
		if err != nil {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}()
	return pr.follow(ctx, dir, int64(end), done, 200*time.Millisecond)
}

// followLog prints the log from offset from until done is closed and the
// logging process has written everything, waiting for it at most drain
// (long when the caller deleted the task, which ends the logger; short
// when the task is kept and the logger lives on).
func followLog(ctx context.Context, dir string, from int64, stdout, stderr io.Writer, done <-chan struct{}, drain time.Duration) error {
	pr := &logPrinter{stdout: stdout, stderr: stderr}
	return pr.follow(ctx, dir, from, done, drain)
}

type logPrinter struct {
	stdout, stderr io.Writer
	timestamps     bool
	since, until   time.Time
}

func (p *logPrinter) follow(ctx context.Context, dir string, from int64, done <-chan struct{}, drain time.Duration) error {
	path := containers.LogPath(dir)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var pending []byte
	buf := make([]byte, 64<<10)
	readAll := func() error {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil
				}
				return err
			}
			if _, err := f.Seek(from, io.SeekStart); err != nil {
				return err
			}
		}
		for {
			n, err := f.Read(buf)
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				p.print(pending[:i+1])
				pending = pending[i+1:]
			}
			if err == io.EOF || n == 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := readAll(); err != nil {
			return err
		}
		select {
		case <-done:
			containers.WaitLogger(dir, drain)
			return readAll()
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (p *logPrinter) print(line []byte) {
	var e containers.LogEntry
	if json.Unmarshal(line, &e) != nil {
		return
	}
	if !p.since.IsZero() && e.Time.Before(p.since) || !p.until.IsZero() && !e.Time.Before(p.until) {
		return
	}
	w := p.stdout
	if e.Stream == "stderr" {
		w = p.stderr
	}
	if p.timestamps {
		fmt.Fprintf(w, "%s %s", e.Time.Format(time.RFC3339Nano), e.Log)
		return
	}
	io.WriteString(w, e.Log)
}

// parseTime reads docker's --since/--until forms: RFC 3339 (with or
// without a zone), Unix seconds (with fraction), or a duration before now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cli.Usagef("bad time %q: want RFC 3339 (2006-01-02T15:04:05Z), Unix seconds, or a duration such as 10m", s)
}

var (
	_ = bufio.NewReader
	_ = strings.Contains
	_ containerd.Container
)
