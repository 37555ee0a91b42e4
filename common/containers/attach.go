//go:build !windows

package containers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
)

// AttachOptions says how Attach wires a process's standard streams.
type AttachOptions struct {
	// Stdin is read only when Interactive; under TTY it must then be a
	// terminal (an *os.File), which is put in raw mode until Close.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Interactive passes Stdin on to the process and closes the process's
	// input when Stdin ends.
	Interactive bool
	// TTY gives the process a terminal, the size of Stdin's.
	TTY bool
	// LogDir, when set, is the container directory whose log gets a copy
	// of the output, so that logs shows attached runs too.
	LogDir string
	// DetachKeys (see ParseDetachKeys), when set with Interactive, end the
	// attachment when typed: Detached is closed, and the process reads no
	// more input.
	DetachKeys []byte
}

// Attachment is a process's standard streams wired straight to the
// caller's, through FIFOs: give Creator to the call that makes the
// process (Start's WithIO, Exec), then call Started with the process.
type Attachment struct {
	// Creator makes the process's streams.
	Creator cio.Creator
	// Detached is closed when the detach keys are typed.
	Detached <-chan struct{}

	detached chan struct{}
	con      console.Console // the terminal, in raw mode; nil without TTY and Interactive
	process  containerd.Process
	ready    chan struct{} // closed once process is set
	logw     *LogWriter
}

// Attach wires the streams o describes. The caller calls Close on every
// path once done, which restores the terminal.
func Attach(ctx context.Context, o AttachOptions) (*Attachment, error) {
	detached := make(chan struct{})
	at := &Attachment{Detached: detached, detached: detached, ready: make(chan struct{})}
	var stdin io.Reader
	if o.Interactive {
		in := o.Stdin
		if len(o.DetachKeys) > 0 {
			in = NewDetachReader(in, o.DetachKeys, detached)
		}
		stdin = &eofHook{r: in, fn: func() {
			// Stdin can end before the process exists.
			<-at.ready
			at.process.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
		}}
	}
	stdout, stderr := o.Stdout, o.Stderr
	if o.LogDir != "" {
		// The log's own writer, so that an attached run rotates the log
		// (and, under --log-driver none, drops it) as the logger would.
		w, err := OpenLog(o.LogDir)
		if err != nil {
			return nil, err
		}
		at.logw = w
		var mu sync.Mutex
		stdout = &logTee{w: stdout, log: w, stream: "stdout", mu: &mu}
		stderr = &logTee{w: stderr, log: w, stream: "stderr", mu: &mu}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	if o.TTY {
		opts = append(opts, cio.WithTerminal)
		if o.Interactive {
			f, ok := o.Stdin.(*os.File)
			var con console.Console
			var err error
			if ok {
				con, err = console.ConsoleFromFile(f)
			}
			if !ok || err != nil {
				at.Close()
				return nil, errdefs.ErrInvalidArgument.WithMessage("the input device is not a TTY: drop -t, or run lepton in a terminal")
			}
			if err := con.SetRaw(); err != nil {
				at.Close()
				return nil, err
			}
			at.con = con
		}
	}
	at.Creator = cio.NewCreator(opts...)
	return at, nil
}

// Started gives the attachment its process, made with Creator, and with a
// terminal sizes the process's like the caller's and keeps it so.
func (at *Attachment) Started(ctx context.Context, p containerd.Process) {
	at.process = p
	close(at.ready)
	FollowSize(ctx, at.con, p)
}

// Wait passes lepton's SIGINT and SIGTERM on to p until p exits or the
// detach keys are typed, and returns p's exit status once its output is
// all copied (detached true, with no status, for the keys).
func (at *Attachment) Wait(ctx context.Context, p containerd.Process, statusC <-chan containerd.ExitStatus) (st containerd.ExitStatus, detached bool) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case s := <-sigs:
			p.Kill(ctx, s.(syscall.Signal))
		case <-at.Detached:
			return st, true
		case st := <-statusC:
			p.IO().Wait()
			return st, false
		}
	}
}

// Close restores the terminal and closes the log copy; it is safe to call
// on every exit path, more than once.
func (at *Attachment) Close() {
	if at.con != nil {
		at.con.Reset()
		at.con = nil
	}
	if at.logw != nil {
		at.logw.Close()
		at.logw = nil
	}
}

// FollowSize keeps p's terminal the size of con (nil: none), for as long
// as this program runs: it follows SIGWINCH.
func FollowSize(ctx context.Context, con console.Console, p containerd.Process) {
	if con == nil {
		return
	}
	resize := func() {
		if ws, err := con.Size(); err == nil {
			p.Resize(ctx, uint32(ws.Width), uint32(ws.Height))
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			resize()
		}
	}()
}

// logTee writes output through and appends it to the log, one entry a line.
type logTee struct {
	w       io.Writer
	log     *LogWriter
	stream  string
	mu      *sync.Mutex
	partial []byte
}

func (t *logTee) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 && len(t.partial) < MaxLogLine {
			break
		}
		if i < 0 {
			i = len(t.partial) - 1
		}
		t.log.Write(LogEntry{Log: string(t.partial[:i+1]), Stream: t.stream, Time: time.Now().UTC()})
		t.partial = t.partial[i+1:]
	}
	return n, err
}

// eofHook calls fn once when r reaches its end.
type eofHook struct {
	r    io.Reader
	fn   func()
	done bool
}

func (h *eofHook) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if err == io.EOF && !h.done {
		h.done = true
		h.fn()
	}
	return n, err
}

// defaultDetachKeys is docker's ctrl-p ctrl-q.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// ParseDetachKeys reads docker's --detach-keys: keys joined by commas,
// each a character or ctrl-X (X one of a-z @ [ \ ] ^ _). "" is docker's
// default, ctrl-p,ctrl-q. A bad value is an errdefs.ErrInvalidArgument.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = defaultDetachKeys
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case len(k) == 6 && strings.HasPrefix(strings.ToLower(k), "ctrl-"):
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				keys = append(keys, c-'A'+1)
			case c == '@':
				keys = append(keys, 0)
			case c >= '[' && c <= '_':
				keys = append(keys, c-'['+27)
			default:
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --detach-keys %q: ctrl- takes a-z, @, [, \\, ], ^ or _", s))
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --detach-keys %q: want keys such as ctrl-p,ctrl-q or ctrl-a,x", s))
		}
	}
	return keys, nil
}

// NewDetachReader passes r through until keys come, which it holds back;
// then it closes detached and never returns from Read again, so that the
// input is left open rather than seen to end.
func NewDetachReader(r io.Reader, keys []byte, detached chan<- struct{}) io.Reader {
	return &detachReader{r: r, keys: keys, detached: detached}
}

type detachReader struct {
	r        io.Reader
	keys     []byte
	matched  int
	held     []byte
	detached chan<- struct{}
	done     bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	for {
		if len(d.held) > 0 {
			n := copy(p, d.held)
			d.held = d.held[n:]
			return n, nil
		}
		if d.done {
			select {} // the session ends; the input is not closed
		}
		buf := make([]byte, len(p))
		n, err := d.r.Read(buf)
		var out []byte
		for _, b := range buf[:n] {
			if b == d.keys[d.matched] {
				d.matched++
				if d.matched == len(d.keys) {
					d.done = true
					close(d.detached)
					break
				}
				continue
			}
			out = append(out, d.keys[:d.matched]...)
			d.matched = 0
			if b == d.keys[0] {
				d.matched = 1
				continue
			}
			out = append(out, b)
		}
		d.held = out
		if len(out) == 0 && err != nil {
			return 0, err
		}
	}
}
