//go:build !windows

package run

import (
	"context"
	"syscall"
	"time"

	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type stopCmd struct {
	cli.Command
	stopTimeout
	Signal string     `short:"s" long:"signal" value-name:"<SIGNAL>" description:"Signal to send first (default: the container's --stop-signal, else SIGTERM)"`
	Args   targetArgs `positional-args:"yes"`
}

// stopTimeout is stop's and restart's -t: --timeout as docker 25 calls
// it, and --time, its older name, kept as a hidden alias.
type stopTimeout struct {
	Timeout *int `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)"`
	Time    *int `long:"time" hidden:"yes" value-name:"<SECONDS>" description:"Same as --timeout (docker's older name)"`
}

// timeout is the one given, --timeout over --time; nil when neither is.
func (t stopTimeout) timeout() *time.Duration {
	if t.Timeout != nil {
		return seconds(t.Timeout)
	}
	return seconds(t.Time)
}

func (s *stopCmd) run(ctx context.Context, a *app, rest []string) error {
	if s.Signal != "" {
		if _, err := parseSignal(s.Signal); err != nil {
			return err
		}
	}
	o := containers.StopOptions{Signal: s.Signal, Timeout: s.timeout()}
	return a.forEach(ctx, append(s.Args.Containers, rest...), parallelTargets, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		return ref, cs.Stop(ctx, info, o)
	})
}

// seconds is -t's whole seconds as a duration; nil stays nil (the
// container's own timeout).
func seconds(t *int) *time.Duration {
	if t == nil {
		return nil
	}
	d := time.Duration(*t) * time.Second
	return &d
}

type restartCmd struct {
	cli.Command
	stopTimeout
	Signal string     `short:"s" long:"signal" value-name:"<SIGNAL>" description:"Signal to stop with (default: the container's --stop-signal, else SIGTERM)"`
	Args   targetArgs `positional-args:"yes"`
}

func (r *restartCmd) run(ctx context.Context, a *app, rest []string) error {
	if r.Signal != "" {
		if _, err := parseSignal(r.Signal); err != nil {
			return err
		}
	}
	o := containers.StopOptions{Signal: r.Signal, Timeout: r.timeout()}
	return a.forEach(ctx, append(r.Args.Containers, rest...), parallelTargets, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		if err := cs.Stop(ctx, info, o); err != nil {
			return "", err
		}
		ctr, err := cs.Client().LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		if _, _, err := cs.Start(ctx, ctr); err != nil {
			return "", failedStart(ctx, cs, info, err)
		}
		return ref, nil
	})
}

type killCmd struct {
	cli.Command
	Signal string     `short:"s" long:"signal" value-name:"<SIGNAL>" default:"KILL" description:"Signal to send"`
	Args   targetArgs `positional-args:"yes"`
}

func (k *killCmd) run(ctx context.Context, a *app, rest []string) error {
	sig, err := parseSignal(k.Signal)
	if err != nil {
		return err
	}
	return a.forEach(ctx, append(k.Args.Containers, rest...), parallelTargets, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		return ref, cs.Kill(ctx, info, sig)
	})
}

// parseSignal is containers.ParseSignal with a bad signal as a usage error.
func parseSignal(s string) (syscall.Signal, error) {
	sig, err := containers.ParseSignal(s)
	if err != nil {
		return 0, cli.Usagef("bad signal %q: want a name such as SIGTERM or a number", s)
	}
	return sig, nil
}
