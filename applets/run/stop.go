//go:build !windows

package run

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"

	"github.com/lepton-project/lepton/common/cli"
)

type stopCmd struct {
	cli.Command
	Time   *int       `short:"t" long:"time" value-name:"<SECONDS>" description:"Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)"`
	Signal string     `short:"s" long:"signal" value-name:"<SIGNAL>" description:"Signal to send first (default: the container's --stop-signal, else SIGTERM)"`
	Args   targetArgs `positional-args:"yes"`
}

func (s *stopCmd) run(ctx context.Context, a *app, rest []string) error {
	if s.Signal != "" {
		if _, err := parseSignal(s.Signal); err != nil {
			return err
		}
	}
	return a.forEach(ctx, append(s.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		return ref, a.stop(ctx, c, info, s.Time, s.Signal)
	})
}

// stop sends the stop signal, waits, then kills; a container that is not
// running is already stopped. Restart policies are told first, so the
// container stays stopped.
func (a *app) stop(ctx context.Context, c *containerd.Client, info containers.Container, timeout *int, sigName string) error {
	err := a.stopTask(ctx, c, info, timeout, sigName)
	if err == nil {
		a.leaveNetworks(ctx, info.ID, configOf(info))
	}
	return err
}

func (a *app) stopTask(ctx context.Context, c *containerd.Client, info containers.Container, timeout *int, sigName string) error {
	ctr, err := c.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	if info.Labels[restartPolicyLabel] != "" {
		if _, err := ctr.SetLabels(ctx, map[string]string{restartStatusLabel: "stopped"}); err != nil {
			return err
		}
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status == containerd.Stopped {
		return err
	}
	if sigName == "" {
		sigName = info.Labels[labelStopSignal]
	}
	sig := syscall.SIGTERM
	if sigName != "" {
		if sig, err = parseSignal(sigName); err != nil {
			return err
		}
	}
	wait := 10 * time.Second
	if timeout != nil {
		wait = time.Duration(*timeout) * time.Second
	} else if v, err := strconv.Atoi(info.Labels[labelStopTimeout]); err == nil {
		wait = time.Duration(v) * time.Second
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if st.Status == containerd.Paused {
		task.Resume(ctx)
	}
	if wait > 0 || wait < 0 {
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("send %v: %w", sig, err)
		}
		if wait > 0 {
			select {
			case <-exited:
				return nil
			case <-time.After(wait):
			}
		} else {
			<-exited
			return nil
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("send SIGKILL: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("container %s did not stop within 30s of SIGKILL", info.ID[:12])
	}
}

type restartCmd struct {
	cli.Command
	Time *int       `short:"t" long:"time" value-name:"<SECONDS>" description:"Seconds to wait for stop before SIGKILL"`
	Args targetArgs `positional-args:"yes"`
}

func (r *restartCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(r.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		if err := a.stop(ctx, c, info, r.Time, ""); err != nil {
			return "", err
		}
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		if _, _, err := a.startTask(ctx, c, ctr, configOf(info)); err != nil {
			return "", a.failedStart(ctx, c, info.ID, err)
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
	return a.forEach(ctx, append(k.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		ctr, err := c.LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		task, err := ctr.Task(ctx, nil)
		if err == nil {
			var st containerd.Status
			if st, err = task.Status(ctx); err == nil && st.Status == containerd.Running {
				if sig != syscall.SIGKILL {
					return ref, task.Kill(ctx, sig)
				}
				// SIGKILL ends it at once: give back its network now, as
				// docker's daemon would, rather than at its next start or rm.
				exited, err := task.Wait(ctx)
				if err != nil {
					return "", err
				}
				if err := task.Kill(ctx, sig); err != nil {
					return "", err
				}
				select {
				case <-exited:
					a.leaveNetworks(ctx, info.ID, configOf(info))
				case <-time.After(5 * time.Second):
				}
				return ref, nil
			}
		}
		return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", ref))
	})
}

// parseSignal reads SIGTERM, TERM or 15.
func parseSignal(s string) (syscall.Signal, error) {
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return 0, cli.Usagef("bad signal %q: want a name such as SIGTERM or a number", s)
	}
	return sig, nil
}
