//go:build !windows

package containers

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"

	"github.com/lepton-project/lepton/common/events"
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
	// ForRemove says the caller removes the container next (compose
	// down): its network endpoints are left for Remove to free, which it
	// does anyway, instead of being freed twice.
	ForRemove bool
}

// Stop sends the stop signal, waits, then kills, and frees the container's
// network endpoints; a container that is not running is already stopped.
// A restart policy is told first, so the container stays stopped.
//
// As docker's, a stop that ends a task is told as events: kill (each
// signal sent), die (containerd's, at the exit) and stop, once it is over.
func (d *Containers) Stop(ctx context.Context, info containers.Container, o StopOptions) error {
	stopped, err := d.stopTask(ctx, info, o)
	if err != nil {
		return err
	}
	if !o.ForRemove {
		d.leaveNetworks(ctx, info.ID, ConfigOf(info))
	}
	if stopped {
		d.publish(ctx, info, "stop", nil)
	}
	return nil
}

// stopTask ends the container's task, saying whether there was one to end.
func (d *Containers) stopTask(ctx context.Context, info containers.Container, o StopOptions) (bool, error) {
	ctr, err := d.client.LoadContainer(ctx, info.ID)
	if err != nil {
		return false, err
	}
	if info.Labels[restart.PolicyLabel] != "" {
		if _, err := ctr.SetLabels(ctx, map[string]string{restart.StatusLabel: "stopped"}); err != nil {
			return false, err
		}
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil || task == nil || st == containerd.Stopped {
		return false, err
	}
	sigName := o.Signal
	if sigName == "" {
		sigName = info.Labels[LabelStopSignal]
	}
	sig := syscall.SIGTERM
	if sigName != "" {
		if sig, err = ParseSignal(sigName); err != nil {
			return false, err
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
		return false, err
	}
	if st == containerd.Paused {
		task.Resume(ctx)
	}
	if wait != 0 {
		d.publishKill(ctx, info, sig)
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return false, fmt.Errorf("send %v: %w", sig, err)
		}
		if wait < 0 {
			<-exited
			return true, nil
		}
		select {
		case <-exited:
			return true, nil
		case <-time.After(wait):
		}
	}
	d.publishKill(ctx, info, syscall.SIGKILL)
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return false, fmt.Errorf("send SIGKILL: %w", err)
	}
	select {
	case <-exited:
		return true, nil
	case <-time.After(30 * time.Second):
		return false, fmt.Errorf("container %s did not stop within 30s of SIGKILL", short(info.ID))
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
	d.publishKill(ctx, info, sig)
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

// EventActor is a container as lepton's events show it (see
// common/events): its name, its image as given, and its labels, as
// docker's attributes; a build step's container is left out.
func EventActor(info containers.Container) (events.Actor, bool) {
	if IsBuildStep(info) {
		return events.Actor{}, false
	}
	cfg := ConfigOf(info)
	attrs := maps.Clone(cfg.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"], attrs["image"] = cfg.Name, cfg.Image
	return events.Actor{ID: info.ID, Attributes: attrs}, true
}

// publish tells containerd's event service, and so every lepton and
// docker-like client listening, that action happened to info, with
// extra attributes. It is best effort: the action is done whether or not
// anyone hears of it (see events.Publish).
func (d *Containers) publish(ctx context.Context, info containers.Container, action string, extra map[string]string) {
	a, ok := EventActor(info)
	if !ok {
		return
	}
	maps.Copy(a.Attributes, extra)
	events.Publish(ctx, d.client.EventService(), d.namespace, events.Event{Type: events.Container, Action: action, Actor: a})
}

// publishKill is docker's kill event, sent before the signal is, so that
// it comes before the die the signal causes.
func (d *Containers) publishKill(ctx context.Context, info containers.Container, sig syscall.Signal) {
	d.publish(ctx, info, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
}
