//go:build !windows

package run

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/containers"
)

// attachment wires a process's standard streams straight to lepton's own,
// for run -i/-t/--rm and exec: with a terminal in raw mode and following
// the window size under -t, with standard input closed at its end under -i,
// and, when logDir is set, a copy of the output in the container's log so
// that logs shows attached runs too.
type attachment struct {
	creator cio.Creator
	con     console.Console // the terminal, in raw mode; nil without -t
	process containerd.Process
	ready   chan struct{} // closed once process is set
	logw    *containers.LogWriter
	// detached is closed when the detach keys are typed (exec -it).
	detached chan struct{}
}

// attach wires the streams; with detachKeys (exec -it) typing them ends
// the attachment as if the input had been closed.
func (a *app) attach(ctx context.Context, interactive, tty bool, logDir string, detachKeys []byte) (*attachment, error) {
	at := &attachment{ready: make(chan struct{}), detached: make(chan struct{})}
	var stdin io.Reader
	if interactive {
		in := a.env.Stdin
		if len(detachKeys) > 0 {
			in = &detachReader{r: in, keys: detachKeys, detached: at.detached}
		}
		stdin = &eofHook{r: in, fn: func() {
			<-at.ready
			at.process.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
		}}
	}
	stdout, stderr := a.env.Stdout, a.env.Stderr
	if logDir != "" {
		// The log's own writer, so that an attached run rotates the log
		// (and, under --log-driver none, drops it) as the logger would.
		w, err := containers.OpenLog(logDir)
		if err != nil {
			return nil, err
		}
		at.logw = w
		var mu sync.Mutex
		stdout = &logTee{w: stdout, log: w, stream: "stdout", mu: &mu}
		stderr = &logTee{w: stderr, log: w, stream: "stderr", mu: &mu}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	if tty {
		opts = append(opts, cio.WithTerminal)
		if interactive {
			f, ok := a.env.Stdin.(*os.File)
			var con console.Console
			var err error
			if ok {
				con, err = console.ConsoleFromFile(f)
			}
			if !ok || err != nil {
				at.close()
				return nil, errdefs.ErrInvalidArgument.WithMessage("the input device is not a TTY: drop -t, or run lepton in a terminal")
			}
			if err := con.SetRaw(); err != nil {
				at.close()
				return nil, err
			}
			at.con = con
		}
	}
	at.creator = cio.NewCreator(opts...)
	return at, nil
}

// started gives the attachment its process and, under -t, sizes the
// container's terminal like ours and keeps it so.
func (at *attachment) started(ctx context.Context, p containerd.Process) {
	at.process = p
	close(at.ready)
	followSize(ctx, at.con, p)
}

// followSize keeps p's terminal the size of ours, con (nil: none).
func followSize(ctx context.Context, con console.Console, p containerd.Process) {
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

// close restores the terminal and closes the log copy; it is safe to call
// on every exit path, more than once.
func (at *attachment) close() {
	if at.con != nil {
		at.con.Reset()
		at.con = nil
	}
	if at.logw != nil {
		at.logw.Close()
		at.logw = nil
	}
}

// logTee writes output through and appends it to the log, one entry a line.
type logTee struct {
	w       io.Writer
	log     *containers.LogWriter
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
		i := indexByte(string(t.partial), '\n')
		if i < 0 && len(t.partial) < containers.MaxLogLine {
			break
		}
		if i < 0 {
			i = len(t.partial) - 1
		}
		t.log.Write(containers.LogEntry{Log: string(t.partial[:i+1]), Stream: t.stream, Time: time.Now().UTC()})
		t.partial = t.partial[i+1:]
	}
	return n, err
}
