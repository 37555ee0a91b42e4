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
	NoStdin  bool `long:"no-stdin" description:"Do not attach standard input (lepton never does yet)"`
	SigProxy bool `long:"sig-proxy" description:"Pass signals to the container (always on)"`
	Args     struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

// run shows a running container's output from now until it stops, passes
// lepton's signals on to it, and exits with its exit code. Input cannot be
// attached: a detached container's output goes to its log, and its stdin
// was not kept open.
func (at *attachCmd) run(ctx context.Context, a *app, rest []string) error {
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
	task, err := runningTask(ctx, c, info, at.Args.Container)
	if err != nil {
		return err
	}
	dir := cs.Dir(info.ID)
	from := containers.LogSize(dir)
	ctx = context.WithoutCancel(ctx)
	statusC, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
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
