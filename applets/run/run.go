//go:build !windows

package run

import (
	"context"
	"io"

	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/console"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/store"
)

type runCmd struct {
	cli.Command
	createFlags
	Detach bool     `short:"d" long:"detach" description:"Run in the background and print the container ID"`
	Attach []string `short:"a" long:"attach" value-name:"<STREAM>" description:"Attach only these streams: stdin, stdout, stderr (default: stdout and stderr)"`
}

func (r *runCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) == 0 {
		return cli.Usagef("run needs an image: lepton run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if r.Interactive && r.TTY && !r.Detach && !isTerminal(a.env.Stdin) {
		return errdefs.ErrInvalidArgument.WithMessage("the input device is not a TTY: drop -t, or run lepton in a terminal")
	}
	if len(r.Attach) > 0 {
		if r.Detach {
			return cli.Usagef("conflicting options: -a and -d (a detached container has nothing attached)")
		}
		env := *a.env
		out, errs, in := io.Discard, io.Discard, false
		for _, s := range r.Attach {
			switch strings.ToLower(s) {
			case "stdout":
				out = a.env.Stdout
			case "stderr":
				errs = a.env.Stderr
			case "stdin":
				in = true
			default:
				return cli.Usagef("bad --attach %q: want stdin, stdout or stderr", s)
			}
		}
		env.Stdout, env.Stderr = out, errs
		if in {
			r.Interactive = true
		}
		a = &app{env: &env, g: a.g}
	}
	p, err := parsePlan(a.env, &r.createFlags, rest[0], rest[1:])
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctr, err := a.createContainer(ctx, c, p)
	if err != nil {
		return err
	}
	if err := writeCIDFile(r.CIDFile, ctr.ID()); err != nil {
		a.remove(context.WithoutCancel(ctx), c, ctr.ID(), true)
		return err
	}
	if r.Detach {
		if _, _, err := a.startTask(ctx, c, ctr, p.cfg); err != nil {
			return a.failedRun(ctx, c, ctr.ID(), err)
		}
		fmt.Fprintln(a.env.Stdout, ctr.ID())
		return nil
	}
	return a.runAttached(ctx, c, ctr, p.cfg)
}

// runAttached starts the container and shows its output until it exits,
// forwarding SIGINT and SIGTERM to it, as docker run does without -d.
func (a *app) runAttached(ctx context.Context, c *containerd.Client, ctr containerd.Container, cfg *Config) error {
	dir := a.g.ContainerDir(ctr.ID())
	from := logSize(dir)
	// From here on a signal is for the container, not for lepton: work on
	// with a context that the applet's own interrupt handling cannot cancel.
	ctx = context.WithoutCancel(ctx)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	// With -i or -t the streams must reach the process directly, through
	// FIFOs, and lepton keeps the log copy itself. A --rm container goes
	// the same way without a log (it would be deleted at exit), as with
	// ctr, and no logging process is started: the fastest run there is.
	if cfg.HostConfig.AutoRemove || cfg.OpenStdin || cfg.Tty {
		logDir := dir
		if cfg.HostConfig.AutoRemove {
			logDir = ""
		}
		at, err := a.attach(ctx, cfg.OpenStdin, cfg.Tty, logDir)
		if err != nil {
			return a.failedRun(ctx, c, ctr.ID(), err)
		}
		defer at.close()
		task, statusC, err := a.startTaskIO(ctx, c, ctr, cfg, at.creator)
		if err != nil {
			return a.failedRun(ctx, c, ctr.ID(), err)
		}
		at.started(ctx, task)
		return a.waitAttached(ctx, c, ctr, cfg, task, statusC, sigs, nil)
	}
	task, statusC, err := a.startTaskIO(ctx, c, ctr, cfg, nil)
	if err != nil {
		return a.failedRun(ctx, c, ctr.ID(), err)
	}
	return a.waitAttached(ctx, c, ctr, cfg, task, statusC, sigs, func(done <-chan struct{}) error {
		return followLog(ctx, dir, from, a.env.Stdout, a.env.Stderr, done, 5*time.Second)
	})
}

// waitAttached forwards signals to the task until it exits, then records
// the exit, deletes the task (which ends its output), lets show print the
// rest, and removes the container under --rm.
func (a *app) waitAttached(ctx context.Context, c *containerd.Client, ctr containerd.Container, cfg *Config,
	task containerd.Task, statusC <-chan containerd.ExitStatus, sigs chan os.Signal, show func(done <-chan struct{}) error) error {
	done := make(chan struct{})
	var status containerd.ExitStatus
	go func() {
		for {
			select {
			case s := <-sigs:
				task.Kill(ctx, s.(syscall.Signal))
			case status = <-statusC:
				// Deleting the task closes the shim's ends of the output
				// pipes, so the logging process sees the end and exits;
				// the exit is kept in labels for ps and inspect.
				recordExit(ctx, ctr, status)
				task.Delete(ctx)
				a.leaveNetworks(ctx, ctr.ID(), cfg)
				close(done)
				return
			}
		}
	}()
	if show == nil {
		<-done
	} else if err := show(done); err != nil {
		fmt.Fprintf(a.env.Stderr, "%s: reading the container's output: %v\n", a.env.Name, err)
	}
	code, _, err := status.Result()
	if err != nil {
		return err
	}
	if cfg.HostConfig.AutoRemove {
		if err := a.remove(ctx, c, ctr.ID(), true); err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: --rm: %v\n", a.env.Name, err)
		}
	}
	if code != 0 {
		return &cli.ExitError{Code: int(code)}
	}
	return nil
}

// failedStart removes a container whose process could not be started if
// it was to be removed anyway, and gives docker's exit codes: 127 when the
// command does not exist, 126 when it cannot be run.
func (a *app) failedStart(ctx context.Context, c *containerd.Client, id string, err error) error {
	if info, ierr := c.ContainerService().Get(ctx, id); ierr == nil && info.Labels["lepton/auto-remove"] == "true" {
		a.remove(context.WithoutCancel(ctx), c, id, true)
	}
	// Only runc's exec of the command itself says anything about the
	// command: a missing file of lepton's (a bind-mounted /etc/hosts that
	// a racing prune removed) is lepton's failure, exit 125.
	msg := err.Error()
	if i := strings.Index(msg, "exec: "); i >= 0 {
		reason := msg[i:]
		switch {
		case strings.Contains(reason, "executable file not found"), strings.Contains(reason, "no such file or directory"):
			return &cli.ExitError{Code: 127, Err: fmt.Errorf("cannot start the container's command: %s", execReason(msg))}
		case strings.Contains(reason, "permission denied"), strings.Contains(reason, "is a directory"):
			return &cli.ExitError{Code: 126, Err: fmt.Errorf("cannot run the container's command: %s", execReason(msg))}
		}
	}
	return err
}

// failedRun is failedStart for run: a container whose start failed for
// lepton's own reasons (a host port taken meanwhile, a network gone) was
// never shown to anyone and is removed, so it holds no name. As with
// docker, one whose command cannot be run (126, 127) stays, Created.
func (a *app) failedRun(ctx context.Context, c *containerd.Client, id string, err error) error {
	err = a.failedStart(ctx, c, id, err)
	var ee *cli.ExitError
	if !errors.As(err, &ee) {
		a.remove(context.WithoutCancel(ctx), c, id, true)
	}
	return err
}

// execReason keeps the useful tail of runc's long error chain.
func execReason(msg string) string {
	if i := strings.LastIndex(msg, "exec: "); i >= 0 {
		msg = msg[i+len("exec: "):]
	}
	return strings.TrimSuffix(strings.TrimSpace(msg), ": unknown")
}

// startTask starts ctr's process with lepton as its logging binary and
// returns the task with a channel that delivers its exit.
func (a *app) startTask(ctx context.Context, c *containerd.Client, ctr containerd.Container, cfg *Config) (containerd.Task, <-chan containerd.ExitStatus, error) {
	return a.startTaskIO(ctx, c, ctr, cfg, nil)
}

// startTaskIO is startTask with the process's I/O given by io instead, if
// it is not nil.
func (a *app) startTaskIO(ctx context.Context, c *containerd.Client, ctr containerd.Container, cfg *Config, io cio.Creator) (containerd.Task, <-chan containerd.ExitStatus, error) {
	if old, err := ctr.Task(ctx, nil); err == nil {
		st, err := old.Status(ctx)
		if err == nil && st.Status != containerd.Stopped {
			return nil, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is already %s", cfg.Name, st.Status))
		}
		if _, err := old.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return nil, nil, fmt.Errorf("clear the container's previous run: %w", err)
		}
		a.leaveNetworks(ctx, ctr.ID(), cfg)
	}
	// While this start is at work, prune and system check leave the
	// container alone; they wait on the same name lock.
	if names, err := a.names(ctx); err == nil && store.ValidateKey(cfg.Name) == nil {
		if err := names.Begin(ctx, cfg.Name, ctr.ID(), containers.OpStart); err != nil && !errdefs.IsNotFound(err) {
			return nil, nil, err
		}
		defer names.Done(context.WithoutCancel(ctx), cfg.Name, ctr.ID())
	}
	self, err := a.self()
	if err != nil {
		return nil, nil, err
	}
	dir := a.g.ContainerDir(ctr.ID())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if io == nil {
		io = logIO(&logURI{self: self, dir: dir}, cfg.Tty)
	}
	task, err := ctr.NewTask(ctx, io)
	if err != nil {
		return nil, nil, err
	}
	crash.Point("start-task-created")
	statusC, err := task.Wait(ctx)
	if err != nil {
		task.Delete(ctx)
		return nil, nil, err
	}
	if err := a.joinNetworks(ctx, ctr.ID(), cfg, task.Pid()); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		return nil, nil, err
	}
	crash.Point("start-joined")
	if err := task.Start(ctx); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		a.leaveNetworks(ctx, ctr.ID(), cfg)
		return nil, nil, err
	}
	crash.Point("start-started")
	labels := map[string]string{labelStartedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if cfg.HostConfig.RestartPolicy.Name != "" && cfg.HostConfig.RestartPolicy.Name != "no" {
		labels[restartStatusLabel] = "running"
		labels[restartLogURILabel] = (&logURI{self: self, dir: dir}).String()
	}
	if _, err := ctr.SetLabels(ctx, labels); err != nil {
		return nil, nil, err
	}
	return task, statusC, nil
}

// recordExit keeps a finished run's exit code and time on the container, so
// they outlive the task (and a containerd restart).
func recordExit(ctx context.Context, ctr containerd.Container, st containerd.ExitStatus) {
	ctr.SetLabels(ctx, map[string]string{
		labelExitCode:   strconv.Itoa(int(st.ExitCode())),
		labelFinishedAt: st.ExitTime().UTC().Format(time.RFC3339Nano),
	})
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := console.ConsoleFromFile(f)
	return err == nil
}

func writeCIDFile(path, id string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("--cidfile %s already exists: remove it or choose another file", path))
		}
		return err
	}
	_, err = f.WriteString(id)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
