//go:build !windows

package run

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type attachCmd struct {
	cli.Command
	NoStdin    bool   `long:"no-stdin" description:"Do not attach standard input"`
	SigProxy   string `long:"sig-proxy" value-name:"<BOOL>" optional:"yes" optional-value:"true" default:"true" description:"Pass the signals lepton gets to the container"`
	DetachKeys string `long:"detach-keys" value-name:"<KEYS>" description:"Keys that detach from the container (default ctrl-p,ctrl-q)"`
	Args       struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

// run shows a running container's output from now until it stops, passes
// lepton's signals on to it, and exits with its exit code. It attaches to
// the container's monitor, and to its input too if it has a terminal and
// was made with -i; the detach keys leave it running.
func (at *attachCmd) run(ctx context.Context, a *app, rest []string) error {
	sigProxy, err := sigProxyValue(at.SigProxy)
	if err != nil {
		return err
	}
	if _, err := parseDetachKeys(at.DetachKeys); err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, at.Args.Container)
	if err != nil {
		return err
	}
	task, err := cs.RunningTask(ctx, info, at.Args.Container)
	if err != nil {
		return err
	}
	dir := cs.Dir(info.ID)
	from := containers.LogSize(dir)
	interrupted := ctx.Done()
	ctx = context.WithoutCancel(ctx)
	statusC, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	cfg := containers.ConfigOf(info)
	if sess, err := a.openSession(cs, info.ID, !at.NoStdin && cfg.OpenStdin && cfg.Tty, at.DetachKeys); err == nil {
		defer sess.close()
		sess.followSize(ctx, task)
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return err
		}
		code, _, err := sess.wait(ctx, interrupted, cs, ctr, task, statusC, sigProxy && !cfg.Tty, false)
		if err != nil {
			return err
		}
		if code != 0 {
			return &cli.ExitError{Code: code}
		}
		return nil
	}
	// No monitor (a run attached without one): follow the log instead.
	sigs := make(chan os.Signal, 4)
	if sigProxy {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
	}
	done := make(chan struct{})
	var code uint32
	go func() {
		for {
			select {
			case s := <-sigs:
				task.Kill(ctx, s.(syscall.Signal))
			case st := <-statusC:
				code = st.ExitCode()
				close(done)
				return
			}
		}
	}()
	if err := followLog(ctx, dir, from, a.env.Stdout, a.env.Stderr, done, 200*time.Millisecond); err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: int(code)}
	}
	return nil
}
