//go:build !windows

package containers

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
)

// ParseSignal reads SIGTERM, TERM or 15.
func ParseSignal(s string) (syscall.Signal, error) {
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad signal %q: want a name such as SIGTERM or a number", s))
	}
	return sig, nil
}

// StopOptions say how Stop asks a container to end.
type StopOptions struct {
	// Signal is sent first; "" means the container's stop signal, else
	// SIGTERM.
	Signal string
	// Timeout is how long to wait for the exit before SIGKILL; nil means
	// the container's stop timeout, else 10s; a negative one waits for ever.
	Timeout *time.Duration
}

// Stop sends the stop signal, waits, then kills, and frees the container's
// network endpoints; a container that is not running is already stopped.
// A restart policy is told first, so the container stays stopped.
func (d *Containers) Stop(ctx context.Context, info containers.Container, o StopOptions) error {
	if err := d.stopTask(ctx, info, o); err != nil {
		return err
	}
	d.leaveNetworks(ctx, info.ID, ConfigOf(info))
	return nil
}

func (d *Containers) stopTask(ctx context.Context, info containers.Container, o StopOptions) error {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	if info.Labels[restart.PolicyLabel] != "" {
		if _, err := ctr.SetLabels(ctx, map[string]string{restart.StatusLabel: "stopped"}); err != nil {
			return err
		}
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil || task == nil || st == containerd.Stopped {
		return err
	}
	sigName := o.Signal
	if sigName == "" {
		sigName = info.Labels[LabelStopSignal]
	}
	sig := syscall.SIGTERM
	if sigName != "" {
		if sig, err = ParseSignal(sigName); err != nil {
			return err
		}
	}
	wait := 10 * time.Second
	if o.Timeout != nil {
		wait = *o.Timeout
	} else if v, err := strconv.Atoi(info.Labels[LabelStopTimeout]); err == nil {
		wait = time.Duration(v) * time.Second
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if st == containerd.Paused {
		task.Resume(ctx)
	}
	if wait != 0 {
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("send %v: %w", sig, err)
		}
		if wait < 0 {
			<-exited
			return nil
		}
		select {
		case <-exited:
			return nil
		case <-time.After(wait):
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("send SIGKILL: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("container %s did not stop within 30s of SIGKILL", short(info.ID))
	}
}

// Kill sends sig to a running container's process. SIGKILL ends it at
// once, so Kill waits for the end (5s at most) and gives back its network
// endpoints, as docker's daemon would, rather than at its next start or
// rm. A container that does not run fails with ErrFailedPrecondition.
func (d *Containers) Kill(ctx context.Context, info containers.Container, sig syscall.Signal) error {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil {
		return err
	}
	if task == nil || st != containerd.Running {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", NameOf(info)))
	}
	if sig != syscall.SIGKILL {
		return task.Kill(ctx, sig)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if err := task.Kill(ctx, sig); err != nil {
		return err
	}
	select {
	case <-exited:
		d.leaveNetworks(ctx, info.ID, ConfigOf(info))
	case <-time.After(5 * time.Second):
	}
	return nil
}

// Wait blocks until the container's process ends and returns its exit
// code. A container that never ran fails with ErrFailedPrecondition; one
// whose task is gone (its exit recorded) returns the recorded code at once.
func (d *Containers) Wait(ctx context.Context, info containers.Container) (int, error) {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return 0, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		if info.Labels[LabelStartedAt] == "" {
			return 0, errdefs.ErrFailedPrecondition.WithMessage("container " + NameOf(info) + " has not been started")
		}
		if code, err := strconv.Atoi(info.Labels[LabelExitCode]); err == nil {
			return code, nil
		}
		return 0, errdefs.ErrNotFound.WithMessage("container " + NameOf(info) + " has stopped and its exit code is gone")
	}
	if err != nil {
		return 0, err
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		return 0, err
	}
	select {
	case st := <-ch:
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Status is the status of container id's task: "" when it has none.
func (d *Containers) Status(ctx context.Context, id string) (containerd.ProcessStatus, error) {
	ctr, err := d.client.LoadContainer(ctx, id)
	if err != nil {
		return "", err
	}
	_, st, err := taskStatus(ctx, ctr)
	return st, err
}

// Running says whether container id has a task that has not stopped
// (created, running or paused): what rm without force refuses to remove.
func (d *Containers) Running(ctx context.Context, id string) (bool, error) {
	st, err := d.Status(ctx, id)
	return st != "" && st != containerd.Stopped, err
}
