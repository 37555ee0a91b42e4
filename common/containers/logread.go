//go:build !windows

package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// LogPrinter prints log entries as docker logs does: each entry's text on
// Stdout or Stderr, after the stream it came from, optionally with its
// time and attributes in front. Entries outside Since and Until (both
// inclusive; zero means unbounded) are left out.
type LogPrinter struct {
	Stdout, Stderr io.Writer
	// Timestamps puts each entry's time (RFC 3339, nanoseconds) in front.
	Timestamps bool
	// Details puts docker's --details attributes in front (lepton records
	// none, so this is a lone space).
	Details      bool
	Since, Until time.Time
	// Prefix starts every printed line, ahead of the timestamp: a compose
	// project's "web-1  | ", say.
	Prefix string
}

// Print prints one line of a log file (a JSON entry, newline included);
// a line that is no entry is skipped.
func (p *LogPrinter) Print(line []byte) {
	var e LogEntry
	if json.Unmarshal(line, &e) != nil {
		return
	}
	// Both ends are inclusive, as docker's are.
	if !p.Since.IsZero() && e.Time.Before(p.Since) || !p.Until.IsZero() && e.Time.After(p.Until) {
		return
	}
	w := p.Stdout
	if e.Stream == "stderr" {
		w = p.Stderr
	}
	// One write a line, so that lines of the two streams (or of several
	// containers sharing a writer) never mix.
	var b strings.Builder
	b.WriteString(p.Prefix)
	if p.Timestamps {
		b.WriteString(e.Time.Format(time.RFC3339Nano) + " ")
	}
	if p.Details {
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

// Follow prints the log of the container directory dir from f on (or,
// with f nil, from offset from of the current file once there is one)
// until done is closed and the logging process has written everything,
// waiting for it at most drain, or until Until has passed or ctx is done.
// It closes f. When the log rotates it reads the rest of the file it has,
// then goes on with the next: each file is renamed whole, so nothing
// written before a rotation is missed.
//
// drain is long when the caller deleted the task, which ends the logging
// process, and short when the task is kept and the logger lives on.
func (p *LogPrinter) Follow(ctx context.Context, dir string, f *os.File, from int64, done <-chan struct{}, drain time.Duration) error {
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
				p.Print(pending[:i+1])
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
			if f, err = OpenLogAt(dir, from); err != nil || f == nil {
				return err
			}
		}
		for {
			if err := readFile(); err != nil {
				return err
			}
			next, err := NextLogFile(dir, f)
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
	// Nothing written after Until can be shown, so following ends there.
	var untilC <-chan time.Time
	if !p.Until.IsZero() {
		t := time.NewTimer(time.Until(p.Until))
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
			WaitLogger(dir, drain)
			return readAll()
		case <-untilC:
			return readAll()
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ShowLog prints container id's log with p, as docker logs does: with
// tail >= 0 only its last tail lines. With follow it goes on printing
// what is written until the container's task exits (at once if it has
// none) or ctx is done. A line still being written when the log is read
// is printed only when following, once it is whole.
func (d *Containers) ShowLog(ctx context.Context, id string, p *LogPrinter, tail int, follow bool) error {
	dir := d.Dir(id)
	// The rotated files, oldest first, then the current one.
	files, err := OpenLogFiles(dir)
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
		// Only whole lines; a line being written is picked up by follow.
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
		p.Print(ln)
	}
	if !follow {
		return nil
	}
	// Follow on from the end of the current file's last whole line; if it
	// rotates meanwhile, Follow moves on to the next file itself.
	cur := files[len(files)-1]
	files = files[:len(files)-1]
	if _, err := cur.Seek(end, io.SeekStart); err != nil {
		cur.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctr, err := d.Client().LoadContainer(ctx, id)
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
	return p.Follow(ctx, dir, cur, 0, done, 200*time.Millisecond)
}
