//go:build !windows

package run

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
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
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, l.Args.Container)
	if err != nil {
		return err
	}
	dir := cs.Dir(info.ID)
	pr := &logPrinter{stdout: a.env.Stdout, stderr: a.env.Stderr, timestamps: l.Timestamps, details: l.Details, since: since, until: until}

	// The rotated files, oldest first, then the current one.
	files, err := containers.OpenLogFiles(dir)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if len(files) == 0 {
		return nil // never started: no output yet
	}
	var lines [][]byte
	var end int64
	for _, f := range files {
		data, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		// Only whole lines; a line being written is picked up by -f.
		n := bytes.LastIndexByte(data, '\n') + 1
		for ln := range bytes.SplitAfterSeq(data[:n], []byte("\n")) {
			if len(ln) > 0 { // the split's empty last piece
				lines = append(lines, ln)
			}
		}
		end = int64(n)
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
	// Follow on from the end of the current file's last whole line; if it
	// rotates meanwhile, follow moves on to the next file itself.
	cur := files[len(files)-1]
	files = files[:len(files)-1]
	if _, err := cur.Seek(end, io.SeekStart); err != nil {
		cur.Close()
		return err
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
	return pr.follow(ctx, dir, cur, 0, done, 200*time.Millisecond)
}

// followLog prints the log from offset from until done is closed and the
// logging process has written everything, waiting for it at most drain
// (long when the caller deleted the task, which ends the logger; short
// when the task is kept and the logger lives on).
func followLog(ctx context.Context, dir string, from int64, stdout, stderr io.Writer, done <-chan struct{}, drain time.Duration) error {
	pr := &logPrinter{stdout: stdout, stderr: stderr}
	return pr.follow(ctx, dir, nil, from, done, drain)
}

type logPrinter struct {
	stdout, stderr      io.Writer
	timestamps, details bool
	since, until        time.Time
}

// follow prints the log from f on (or, with f nil, from offset from of
// the current file once there is one) until done is closed and the
// logging process has written everything, or --until has passed. When the
// log rotates it reads the rest of the file it has, then goes on with the
// next: each file is renamed whole, so nothing written before a rotation
// is missed.
func (p *logPrinter) follow(ctx context.Context, dir string, f *os.File, from int64, done <-chan struct{}, drain time.Duration) error {
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var pending []byte
	buf := make([]byte, 64<<10)
	// readFile prints the whole lines f holds beyond what was read.
	readFile := func() error {
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
			if err != nil && err != io.EOF {
				return err
			}
			if n > 0 {
				continue
			}
			// A file cut short under us (copytruncate) starts over.
			if fi, err := f.Stat(); err == nil {
				if pos, err := f.Seek(0, io.SeekCurrent); err == nil && fi.Size() < pos {
					f.Seek(0, io.SeekStart)
					pending = nil
					continue
				}
			}
			return nil
		}
	}
	readAll := func() error {
		if f == nil {
			var err error
			if f, err = containers.OpenLogAt(dir, from); err != nil || f == nil {
				return err
			}
		}
		for {
			if err := readFile(); err != nil {
				return err
			}
			next, err := containers.NextLogFile(dir, f)
			if err != nil || next == nil {
				return err
			}
			// Rotated: f is whole now; what was written to it after the
			// read above comes first.
			if err := readFile(); err != nil {
				next.Close()
				return err
			}
			f.Close()
			f, pending = next, nil
		}
	}
	// Nothing written after --until can be shown, so following ends there.
	var untilC <-chan time.Time
	if !p.until.IsZero() {
		t := time.NewTimer(time.Until(p.until))
		defer t.Stop()
		untilC = t.C
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
		case <-untilC:
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
	// Both ends are inclusive, as docker's are.
	if !p.since.IsZero() && e.Time.Before(p.since) || !p.until.IsZero() && e.Time.After(p.until) {
		return
	}
	w := p.stdout
	if e.Stream == "stderr" {
		w = p.stderr
	}
	// One write a line, so that lines of the two streams never mix.
	var b strings.Builder
	if p.timestamps {
		b.WriteString(e.Time.Format(time.RFC3339Nano) + " ")
	}
	if p.details {
		b.WriteString(attrsText(e.Attrs) + " ")
	}
	b.WriteString(e.Log)
	io.WriteString(w, b.String())
}

// attrsText is docker's --details prefix: key=value pairs sorted by key,
// query-escaped, joined by commas.
func attrsText(attrs map[string]string) string {
	var kv []string
	for k, v := range attrs {
		kv = append(kv, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}
