//go:build !windows

package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/store"
)

// StartOption changes how Start wires the container's process.
type StartOption func(*startOptions)

type startOptions struct {
	io          cio.Creator
	beforeStart func(containerd.Task) error
}

// BeforeStart calls fn with the created task just before its process
// starts, so that an attach made in fn sees all of its output.
func BeforeStart(fn func(containerd.Task) error) StartOption {
	return func(o *startOptions) { o.beforeStart = fn }
}

// WithIO gives the process these streams (for an attached run: see cio)
// instead of the container's log. The caller then keeps the log, if any.
func WithIO(io cio.Creator) StartOption { return func(o *startOptions) { o.io = io } }

// CommandError is a start that failed because the container's command
// cannot run; Code is docker's exit code for it: 127 when it does not
// exist, 126 when it cannot be executed.
type CommandError struct {
	Code   int
	Reason string
}

func (e *CommandError) Error() string {
	if e.Code == 127 {
		return "cannot start the container's command: " + e.Reason
	}
	return "cannot run the container's command: " + e.Reason
}

// Start starts ctr's process with its output going to its log, joins it to
// its networks and returns its task with a channel that delivers its
// exit; the caller then calls Exited with what it delivers (Stop, Kill
// and Remove clean up after a task nobody waited for). Starting a
// container that runs fails with ErrFailedPrecondition.
func (d *Containers) Start(ctx context.Context, ctr containerd.Container, opts ...StartOption) (_ containerd.Task, _ <-chan containerd.ExitStatus, err error) {
	// docker's State.Error: why the last start failed, until one works.
	defer func() {
		if err != nil && !errdefs.IsFailedPrecondition(err) {
			ctr.SetLabels(context.WithoutCancel(ctx), map[string]string{LabelError: truncate(err.Error(), 1000)})
		}
	}()
	var o startOptions
	for _, opt := range opts {
		opt(&o)
	}
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return nil, nil, err
	}
	cfg := ConfigOf(info)
	old, st, err := taskStatus(ctx, ctr)
	if err != nil {
		return nil, nil, err
	}
	leftover := false
	if old != nil {
		switch st {
		case containerd.Stopped:
			if _, err := old.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
				return nil, nil, fmt.Errorf("clear the container's previous run: %w", err)
			}
			d.leaveNetworks(ctx, ctr.ID(), cfg)
		case containerd.Created:
			// Made but never started: a start at work right now, or one
			// killed between the two steps. The claim below tells them
			// apart.
			leftover = true
		default:
			return nil, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is already %s", cfg.Name, st))
		}
	}
	// While this start is at work, prune and system check leave the
	// container alone; they wait on the same name lock.
	for name, tries := cfg.Name, 0; store.ValidateKey(name) == nil; tries++ {
		if err := d.names.Begin(ctx, name, ctr.ID(), OpStart); err != nil && !errdefs.IsNotFound(err) {
			return nil, nil, err
		}
		// Read again, from containerd (not ctr's cached copy), under the
		// claim: an update may have changed the container (its restart
		// policy) while Begin waited on the lock, or a rename its name.
		if info, err = ctr.Info(ctx); err != nil {
			d.names.Done(context.WithoutCancel(ctx), name, ctr.ID())
			return nil, nil, err
		}
		cfg = ConfigOf(info)
		if cfg.Name == name || tries == 3 {
			defer d.names.Done(context.WithoutCancel(ctx), name, ctr.ID())
			break
		}
		// Renamed meanwhile: the claim Begin found or made under the old
		// name is not the container's any more; work under the new one.
		d.names.Release(context.WithoutCancel(ctx), name, ctr.ID())
		name = cfg.Name
	}
	if leftover {
		// Under the claim no live lepton is starting the container, so
		// its created task is a killed start's: clear it and start anew.
		if _, err := old.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return nil, nil, fmt.Errorf("clear the task a killed start left: %w", err)
		}
		d.leaveNetworks(ctx, ctr.ID(), cfg)
	}
	if err := d.refreshNamespaces(ctx, ctr, cfg); err != nil {
		return nil, nil, err
	}
	if err := rtBudget(ctx, ctr, cfg); err != nil {
		return nil, nil, err
	}
	self, err := d.loggerPath()
	if err != nil {
		return nil, nil, err
	}
	dir := d.Dir(ctr.ID())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if o.io == nil {
		stdin := ""
		if cfg.Tty && cfg.OpenStdin {
			// The monitor holds it open for whoever attaches (see Monitor).
			stdin = filepath.Join(dir, stdinFIFO)
			if err := unix.Mkfifo(stdin, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, nil, fmt.Errorf("make the container's input FIFO: %w", err)
			}
		}
		o.io = logIO(&logURI{self: self, dir: dir}, cfg.Tty, stdin)
	}
	task, err := ctr.NewTask(ctx, o.io)
	for tries := 0; err != nil && leftoverBundle(err) && tries < 50; tries++ {
		// A start killed in the middle of NewTask: containerd finishes
		// or rolls back that task by itself, soon. A task it finished is
		// the killed start's and goes.
		select {
		case <-ctx.Done():
			return nil, nil, StartError(err)
		case <-time.After(100 * time.Millisecond):
		}
		if t, st, terr := taskStatus(ctx, ctr); terr == nil && t != nil && st == containerd.Created {
			t.Delete(ctx, containerd.WithProcessKill)
		}
		task, err = ctr.NewTask(ctx, o.io)
	}
	if err != nil {
		return nil, nil, StartError(err)
	}
	crash.Point("start-task-created")
	statusC, err := task.Wait(ctx)
	if err != nil {
		task.Delete(ctx)
		return nil, nil, err
	}
	if err := d.joinNetworks(ctx, ctr.ID(), cfg, task.Pid()); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		return nil, nil, err
	}
	crash.Point("start-joined")
	if o.beforeStart != nil {
		if err := o.beforeStart(task); err != nil {
			task.Delete(ctx, containerd.WithProcessKill)
			d.leaveNetworks(ctx, ctr.ID(), cfg)
			return nil, nil, err
		}
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		d.leaveNetworks(ctx, ctr.ID(), cfg)
		return nil, nil, StartError(err)
	}
	crash.Point("start-started")
	labels := map[string]string{LabelStartedAt: time.Now().UTC().Format(time.RFC3339Nano), LabelError: ""}
	if cfg.HostConfig.RestartPolicy.Restarts() {
		labels[restart.StatusLabel] = "running"
		labels[restart.LogURILabel] = (&logURI{self: self, dir: dir}).String()
	}
	if _, err := ctr.SetLabels(ctx, labels); err != nil {
		return nil, nil, err
	}
	return task, statusC, nil
}

// leftoverBundle says whether NewTask failed on the state of another
// task of the container that containerd is still making or unmaking.
func leftoverBundle(err error) bool {
	return errdefs.IsAlreadyExists(err) || strings.Contains(err.Error(), "file exists")
}

// StartError is err, from starting a container's or an exec's process,
// as a *CommandError when runc says the command itself could not be run.
// Only runc's exec of the command says anything
// about the command: a missing file of lepton's (a bind-mounted
// /etc/hosts that a racing prune removed) is lepton's failure.
func StartError(err error) error {
	msg := err.Error()
	i := strings.Index(msg, "exec: ")
	if i < 0 {
		return err
	}
	reason := msg[i:]
	code := 0
	switch {
	case strings.Contains(reason, "executable file not found"), strings.Contains(reason, "no such file or directory"):
		code = 127
	case strings.Contains(reason, "permission denied"), strings.Contains(reason, "is a directory"):
		code = 126
	default:
		return err
	}
	tail := msg[strings.LastIndex(msg, "exec: ")+len("exec: "):]
	return &CommandError{Code: code, Reason: strings.TrimSuffix(strings.TrimSpace(tail), ": unknown")}
}

// Exited records a task's exit on its container (so ps and inspect show
// it after the task is gone, and after a containerd restart), deletes the
// task, which ends its output, and frees what it held on its networks.
func (d *Containers) Exited(ctx context.Context, ctr containerd.Container, task containerd.Task, st containerd.ExitStatus) {
	ctx = context.WithoutCancel(ctx)
	ctr.SetLabels(ctx, map[string]string{
		LabelExitCode:   strconv.Itoa(int(st.ExitCode())),
		LabelFinishedAt: st.ExitTime().UTC().Format(time.RFC3339Nano),
	})
	task.Delete(ctx)
	if info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata); err == nil {
		d.leaveNetworks(ctx, ctr.ID(), ConfigOf(info))
	}
}

// joinNetworks plugs a created task into its networks, unless runc's hooks
// do (restart policies: the restart monitor starts it with no lepton
// around).
func (d *Containers) joinNetworks(ctx context.Context, id string, cfg *Config, pid uint32) error {
	if !onNetwork(cfg) || cfg.HostConfig.RestartPolicy.Restarts() {
		return nil
	}
	return d.nets.Attach(ctx, id, int(pid), d.Dir(id))
}

// leaveNetworks frees what a container's ended task held on its networks.
// Leaving twice, or a network never joined, is fine; a failure leaves an
// endpoint that the next join on the network, or system check, sweeps.
func (d *Containers) leaveNetworks(ctx context.Context, id string, cfg *Config) error {
	if !onNetwork(cfg) {
		return nil
	}
	if err := d.nets.Detach(context.WithoutCancel(ctx), id); err != nil {
		return fmt.Errorf("leave networks of %s: %w", short(id), err)
	}
	return nil
}

// rtBudget gives the parents of a container with --cpu-rt-runtime, on
// cgroup v1, the realtime budget it needs (see raiseRTBudget).
func rtBudget(ctx context.Context, ctr containerd.Container, cfg *Config) error {
	r := &cfg.HostConfig.Resources
	if r.CPURealtimeRuntime <= 0 || unifiedCgroups() {
		return nil
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return err
	}
	if spec.Linux == nil || !filepath.IsAbs(spec.Linux.CgroupsPath) {
		return errdefs.ErrFailedPrecondition.WithMessage("--cpu-rt-runtime needs the container's cgroup path to be absolute")
	}
	return raiseRTBudget(filepath.Join(cgroupRoot, "cpu"), spec.Linux.CgroupsPath, r.CPURealtimeRuntime, r.CPURealtimePeriod)
}
