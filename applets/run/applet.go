//go:build !windows

// Package run is lepton-run (docker run) and lepton-container (create,
// start, stop, kill, rm, ps, exec, logs, inspect, wait, ...).
//
// containerd is the record of which containers exist: each carries the
// labels in model.go and its Config as a containerd extension. lepton's
// store keeps only what containerd cannot: name claims (collection "names",
// so two containers never share a name even when 50 runs race for it) and,
// under <data-root>/containers/<namespace>/<id>/, each container's log and
// /etc files. lepton itself is the logging binary the shim feeds output to
// (the hidden "__log" command), so logs are kept whether or not a lepton
// process is attached.
package run

import (
	"context"
	"errors"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// Main is lepton-run: docker run.
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := cli.ParseArgs(Parser(ctx, env), args)
	return asRunError(err, "run")
}

// asRunError gives lepton-run's own failures docker's exit code 125, so a
// script can tell them from the container's own exit codes.
func asRunError(err error, command string) error {
	if err == nil {
		return nil
	}
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		return err
	}
	var fe *flags.Error
	if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
		return err
	}
	return &cli.ExitError{Code: 125, Err: errorText(err, command)}
}

func errorText(err error, command string) error {
	var fe *flags.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("%s (see 'lepton %s --help')", fe.Message, command)
	}
	var ue *cli.UsageError
	if errors.As(err, &ue) {
		return fmt.Errorf("%s (see 'lepton %s --help')", ue.Error(), command)
	}
	return err
}

// Parser is lepton-run's command line.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		runCmd
	}{}
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, rest []string) error { return c.run(ctx, a, rest) })
	p.Options |= flags.PassAfterNonOption // what follows the image is the container's command
	p.Usage = "[OPTIONS] <IMAGE> [COMMAND] [ARG...]"
	p.ShortDescription = "Create and start a container"
	return p
}

// ContainerMain is lepton-container: the rest of the container commands.
func ContainerMain(ctx context.Context, env *cli.Env, args []string) error {
	p := ContainerParser(ctx, env)
	_, err := cli.ParseArgs(p, args)
	// A bad option of container run or create is docker's exit 125 too
	// (the handler below sees only what parsed).
	if err != nil && p.Active != nil && (p.Active.Name == "run" || p.Active.Name == "create") {
		return asRunError(err, p.Active.Name)
	}
	return err
}

// ContainerParser is lepton-container's command line.
func ContainerParser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Run     runCmd     `command:"run" pass-after-non-option:"yes" description:"Create and start a container"`
		Create  createCmd  `command:"create" pass-after-non-option:"yes" description:"Create a container without starting it"`
		Start   startCmd   `command:"start" description:"Start stopped containers"`
		Stop    stopCmd    `command:"stop" description:"Stop containers: the stop signal, then SIGKILL after a timeout"`
		Restart restartCmd `command:"restart" description:"Stop then start containers"`
		Kill    killCmd    `command:"kill" description:"Send a signal to containers"`
		Rm      rmCmd      `command:"rm" alias:"remove" description:"Remove containers"`
		//lint:ignore SA5008 go-flags takes one alias tag per alias
		Ps      psCmd      `command:"ps" alias:"ls" alias:"list" description:"List containers"`
		Exec    execCmd    `command:"exec" pass-after-non-option:"yes" description:"Run a command in a running container"`
		Logs    logsCmd    `command:"logs" description:"Show a container's output"`
		Inspect inspectCmd `command:"inspect" description:"Show containers in detail, as a JSON array"`
		Wait    waitCmd    `command:"wait" description:"Wait for containers to stop and print their exit codes"`
		Attach  attachCmd  `command:"attach" description:"Show a running container's output until it stops"`
		Pause   pauseCmd   `command:"pause" description:"Freeze the processes of containers"`
		Unpause unpauseCmd `command:"unpause" description:"Thaw paused containers"`
		Rename  renameCmd  `command:"rename" description:"Rename a container"`
		Top     topCmd     `command:"top" description:"List a container's processes"`
		Stats   statsCmd   `command:"stats" description:"Show containers' CPU, memory, process and I/O use"`
		Port    portCmd    `command:"port" description:"List a container's published ports"`
		Prune   pruneCmd   `command:"prune" description:"Remove stopped containers and what killed commands left"`
		Cp      cpCmd      `command:"cp" description:"Copy files between a container and the host"`
		Export  exportCmd  `command:"export" description:"Write a container's file system to a tar archive"`
		Commit  commitCmd  `command:"commit" description:"Make an image of a container's file system and configuration"`
		Diff    diffCmd    `command:"diff" description:"List the files a container added (A), changed (C) or deleted (D)"`
		Update  updateCmd  `command:"update" description:"Change the resources and restart policy of containers"`
		Log     logCmd     `command:"__log" hidden:"yes" description:"Logging binary the containerd shim runs (internal)"`
	}{}
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, rest []string) error {
		err := c.run(ctx, a, rest)
		// container run and create are docker run and create: their own
		// failures exit 125, like lepton-run's.
		switch c.(type) {
		case *runCmd:
			return asRunError(err, "run")
		case *createCmd:
			return asRunError(err, "create")
		}
		return err
	})
	p.ShortDescription = "Manage containers"
	return p
}

type command interface {
	run(ctx context.Context, a *app, rest []string) error
}

// app is what every command gets: its streams and the global options.
type app struct {
	env *cli.Env
	g   *cli.Globals
}

func (a *app) client(ctx context.Context) (*containerd.Client, error) {
	return a.g.Client(ctx)
}

// open connects to containerd and opens the container lifecycle of the
// namespace; closing its Client is the caller's.
func (a *app) open(ctx context.Context, extra ...containers.Option) (*containers.Containers, error) {
	return a.g.LeptonContainers(ctx, a.env, extra...)
}

// openNetworks opens the namespace's networks, for commands that show
// them without working on containers.
func (a *app) openNetworks(ctx context.Context) (*networks.Networks, error) {
	s, err := a.g.Store(ctx)
	if err != nil {
		return nil, err
	}
	return networks.Open(s, a.g.Namespace)
}
