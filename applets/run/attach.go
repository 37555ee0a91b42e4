//go:build !windows

package run

import (
	"context"
	"encoding/json"
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
	logf    *os.File
}

func (a *app) attach(ctx context.Context, interactive, tty bool, logDir string) (*attachment, error) {
	at := &attachment{ready: make(chan struct{})}
	var stdin io.Reader
	if interactive {
		stdin = &eofHook{r: a.env.Stdin, fn: func() {
			<-at.ready
			at.process.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
		}}
	}
	stdout, stderr := a.env.Stdout, a.env.Stderr
	if logDir != "" {
		f, err := os.OpenFile(containers.LogPath(logDir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		at.logf = f
		var mu sync.Mutex
		stdout = &logTee{w: stdout, log: f, stream: "stdout", mu: &mu}
		stderr = &logTee{w: stderr, log: f, stream: "stderr", mu: &mu}
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
	if at.con == nil {
		return
	}
	resize := func() {
		if ws, err := at.con.Size(); err == nil {
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
	if at.logf != nil {
		at.logf.Close()
		at.logf = nil
	}
}

// logTee writes output through and appends it to the log, one entry a line.
type logTee struct {
	w       io.Writer
	log     *os.File
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
		b, _ := json.Marshal(containers.LogEntry{Log: string(t.partial[:i+1]), Stream: t.stream, Time: time.Now().UTC()})
		t.log.Write(append(b, '\n'))
		t.partial = t.partial[i+1:]
	}
	return n, err
}
