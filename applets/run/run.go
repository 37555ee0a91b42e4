//go:build !windows

package run

import (
	"context"
	"io"

	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type runCmd struct {
	cli.Command
	createFlags
	Detach     bool     `short:"d" long:"detach" description:"Run in the background and print the container ID"`
	Attach     []string `short:"a" long:"attach" value-name:"<STREAM>" description:"Attach only these streams: stdin, stdout, stderr (default: stdout and stderr)"`
	DetachKeys string   `long:"detach-keys" value-name:"<KEYS>" description:"Keys that detach from a container with a terminal (default ctrl-p,ctrl-q)"`
	SigProxy   string   `long:"sig-proxy" value-name:"<BOOL>" optional:"yes" optional-value:"true" default:"true" description:"Pass the signals lepton gets to the container"`
}

func (r *runCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) == 0 {
		return cli.Usagef("run needs an image: lepton run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if _, err := parseDetachKeys(r.DetachKeys); err != nil {
		return err
	}
	if r.Interactive && r.TTY && !r.Detach && !cli.IsTerminal(a.env.Stdin) {
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
	sigProxy, err := sigProxyValue(r.SigProxy)
	if err != nil {
		return err
	}
	cid, err := newCIDFile(r.CIDFile)
	if err != nil {
		return err
	}
	defer cid.abandon()
	cs, err := a.open(ctx, r.quiet()...)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	ctr, err := cs.Create(ctx, p, containers.ForStart())
	if err != nil {
		return err
	}
	if err := cid.write(ctr.ID()); err != nil {
		cs.Remove(context.WithoutCancel(ctx), ctr.ID(), containers.RemoveOptions{Kill: true, AnonVolumes: true})
		return err
	}
	if r.Detach {
		if _, _, err := cs.Start(ctx, ctr); err != nil {
			return failedRun(ctx, cs, ctr.ID(), p.HostConfig.AutoRemove, err)
		}
		fmt.Fprintln(a.env.Stdout, ctr.ID())
		return nil
	}
	if p.Tty {
		return a.runSession(ctx, cs, ctr, &p.Config, r.DetachKeys, sigProxy)
	}
	return a.runAttached(ctx, cs, ctr, &p.Config, sigProxy)
}

// runSession is run -t without -d: the container's monitor holds its
// terminal, and lepton attaches to it as attach does, so the detach keys
// leave the container running with its terminal whole. A detached
// run --rm leaves the removal at exit to the monitor.
func (a *app) runSession(ctx context.Context, cs *containers.Containers, ctr containerd.Container, cfg *containers.Config, detachKeys string, sigProxy bool) error {
	interrupted := ctx.Done()
	ctx = context.WithoutCancel(ctx)
	var sess *session
	task, statusC, err := cs.Start(ctx, ctr, containers.BeforeStart(func(containerd.Task) error {
		var err error
		sess, err = a.openSession(cs, ctr.ID(), cfg.OpenStdin, detachKeys)
		return err
	}))
	if err != nil {
		if sess != nil {
			sess.close()
		}
		return failedRun(ctx, cs, ctr.ID(), cfg.HostConfig.AutoRemove, err)
	}
	defer sess.close()
	sess.followSize(ctx, task)
	code, detached, err := sess.wait(ctx, interrupted, cs, ctr, task, statusC, sigProxy, true)
	if detached {
		return nil // a --rm container's monitor removes it at its exit
	}
	sess.close()
	if err != nil {
		return err
	}
	return a.exited(ctx, cs, ctr.ID(), cfg, code)
}

// exited ends an attached run whose container exited with code: removed
// under --rm, and lepton exits as the container did.
func (a *app) exited(ctx context.Context, cs *containers.Containers, id string, cfg *containers.Config, code int) error {
	if cfg.HostConfig.AutoRemove {
		if err := cs.Remove(ctx, id, containers.RemoveOptions{Kill: true, AnonVolumes: true}); err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: --rm: %v\n", a.env.Name, err)
		}
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}

// runAttached starts the container and shows its output until it exits,
// forwarding SIGINT and SIGTERM to it, as docker run does without -d.
func (a *app) runAttached(ctx context.Context, cs *containers.Containers, ctr containerd.Container, cfg *containers.Config, sigProxy bool) error {
	dir := cs.Dir(ctr.ID())
	from := containers.LogSize(dir)
	// From here on a signal is for the container, not for lepton: work on
	// with a context that the applet's own interrupt handling cannot cancel.
	ctx = context.WithoutCancel(ctx)
	sigs := make(chan os.Signal, 4)
	if sigProxy {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
		defer signal.Stop(sigs)
	}

	// With -i the streams must reach the process directly, through
	// FIFOs, and lepton keeps the log copy itself. A --rm container goes
	// the same way without a log (it would be deleted at exit), as with
	// ctr, and no logging process is started: the fastest run there is.
	// With no monitor, this lepton runs the healthchecks.
	// So does one whose log driver keeps no log to follow.
	if cfg.HostConfig.AutoRemove || cfg.OpenStdin || cfg.HostConfig.LogConfig.Type == containers.LogNone {
		logDir := dir
		if cfg.HostConfig.AutoRemove {
			logDir = ""
		}
		at, err := containers.Attach(ctx, containers.AttachOptions{
			Stdin: a.env.Stdin, Stdout: a.env.Stdout, Stderr: a.env.Stderr,
			Interactive: cfg.OpenStdin, TTY: cfg.Tty, LogDir: logDir,
		})
		if err != nil {
			return failedRun(ctx, cs, ctr.ID(), cfg.HostConfig.AutoRemove, err)
		}
		defer at.Close()
		task, statusC, err := cs.Start(ctx, ctr, containers.WithIO(at.Creator))
		if err != nil {
			return failedRun(ctx, cs, ctr.ID(), cfg.HostConfig.AutoRemove, err)
		}
		at.Started(ctx, task)
		hctx, cancel := context.WithCancel(ctx)
		checked := make(chan struct{})
		go func() {
			defer close(checked)
			containers.RunHealthchecks(hctx, ctr, dir, cfg.Healthcheck, containers.HealthEvents(cs.Client().EventService(), a.g.Namespace))
		}()
		// Checks end before --rm removes the container: a late one would
		// write its state into a directory already gone.
		stopChecks := func() { cancel(); <-checked }
		defer stopChecks()
		return a.waitAttached(ctx, cs, ctr, cfg, task, statusC, sigs, nil, stopChecks)
	}
	task, statusC, err := cs.Start(ctx, ctr)
	if err != nil {
		return failedRun(ctx, cs, ctr.ID(), cfg.HostConfig.AutoRemove, err)
	}
	return a.waitAttached(ctx, cs, ctr, cfg, task, statusC, sigs, func(done <-chan struct{}) error {
		return followLog(ctx, dir, from, a.env.Stdout, a.env.Stderr, done, 5*time.Second)
	}, nil)
}

// waitAttached forwards signals to the task until it exits, then records
// the exit, deletes the task (which ends its output), lets show print the
// rest, and removes the container under --rm.
func (a *app) waitAttached(ctx context.Context, cs *containers.Containers, ctr containerd.Container, cfg *containers.Config,
	task containerd.Task, statusC <-chan containerd.ExitStatus, sigs chan os.Signal, show func(done <-chan struct{}) error, beforeEnd func()) error {
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
				cs.Exited(ctx, ctr, task, status)
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
	if beforeEnd != nil {
		beforeEnd()
	}
	code, _, err := status.Result()
	if err != nil {
		return err
	}
	return a.exited(ctx, cs, ctr.ID(), cfg, int(code))
}

// commandFailure gives docker's exit codes to a start that failed because
// of the container's command: 127 when it does not exist, 126 when it
// cannot be run.
func commandFailure(err error) error {
	var ce *containers.CommandError
	if errors.As(err, &ce) {
		return &cli.ExitError{Code: ce.Code, Err: ce}
	}
	return err
}

// failedStart removes a container whose process could not be started if
// it was to be removed anyway (--rm).
func failedStart(ctx context.Context, cs *containers.Containers, info ctrs.Container, err error) error {
	if info.Labels[containers.LabelAutoRemove] == "true" {
		cs.Remove(context.WithoutCancel(ctx), info.ID, containers.RemoveOptions{Kill: true, AnonVolumes: true})
	}
	return commandFailure(err)
}

// failedRun is failedStart for run: a container whose start failed for
// lepton's own reasons (a host port taken meanwhile, a network gone) was
// never shown to anyone and is removed, so it holds no name. As with
// docker, one whose command cannot be run (126, 127) stays, Created,
// unless it was to be removed anyway.
func failedRun(ctx context.Context, cs *containers.Containers, id string, autoRemove bool, err error) error {
	err = commandFailure(err)
	var ee *cli.ExitError
	if autoRemove || !errors.As(err, &ee) {
		cs.Remove(context.WithoutCancel(ctx), id, containers.RemoveOptions{Kill: true, AnonVolumes: true})
	}
	return err
}

// cidFile is --cidfile, made before the container as docker does, so a
// file already there stops the run before anything is created; it is
// removed again if no container ID was written to it.
type cidFile struct {
	f       *os.File
	written bool
}

func newCIDFile(path string) (*cidFile, error) {
	if path == "" {
		return &cidFile{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("container ID file found, make sure the other container isn't running or delete %s", path))
		}
		return nil, err
	}
	return &cidFile{f: f}, nil
}

func (c *cidFile) write(id string) error {
	if c.f == nil {
		return nil
	}
	_, err := c.f.WriteString(id)
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.written = err == nil
	return err
}

// abandon removes the file if no ID made it there.
func (c *cidFile) abandon() {
	if c.f != nil && !c.written {
		c.f.Close()
		os.Remove(c.f.Name())
	}
}
