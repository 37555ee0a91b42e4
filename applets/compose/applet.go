//go:build !windows

// Package compose is lepton-compose (docker compose): a compose project's
// services as lepton containers, networks and volumes, made through
// common/ directly, in parallel as the dependency graph allows.
//
// A project is what carries compose's labels (see labels.go): lepton
// keeps no record of its own, so docker tooling, lepton ps --filter and
// every lepton-compose command find a project's containers, networks and
// volumes the same way, and two lepton-compose commands at once each work
// on what containerd and lepton's store say at that moment, under the
// per-container and per-name locks the rest of lepton takes. No lock is
// held across services.
package compose

import (
	"context"
	"fmt"
	"sync"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// Main is lepton-compose: docker compose.
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := cli.ParseArgs(Parser(ctx, env), args)
	return err
}

// projectFlags are compose's own global options, which say where the
// project is and how to read it.
type projectFlags struct {
	Files      []string `short:"f" long:"file" value-name:"<FILE>" description:"Compose file (repeatable; later files override earlier ones; - for standard input)"`
	Project    string   `short:"p" long:"project-name" value-name:"<NAME>" description:"Project name (env COMPOSE_PROJECT_NAME; default: the project directory's name)"`
	ProjectDir string   `long:"project-directory" value-name:"<DIR>" description:"Project directory, where relative paths start (default: the first compose file's)"`
	EnvFiles   []string `long:"env-file" value-name:"<FILE>" description:"Environment file for interpolation (repeatable; default: .env in the project directory)"`
	Profiles   []string `long:"profile" value-name:"<PROFILE>" description:"Enable services of a profile (repeatable; env COMPOSE_PROFILES)"`
}

// Parser is lepton-compose's command line.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		projectFlags
		Up      upCmd      `command:"up" description:"Create and start the project's services"`
		Down    downCmd    `command:"down" description:"Stop and remove the project's containers and networks"`
		Create  createCmd  `command:"create" description:"Create the project's containers without starting them"`
		Start   startCmd   `command:"start" description:"Start the project's existing containers"`
		Stop    stopCmd    `command:"stop" description:"Stop the project's containers"`
		Restart restartCmd `command:"restart" description:"Restart the project's containers"`
		Kill    killCmd    `command:"kill" description:"Send a signal to the project's containers"`
		Rm      rmCmd      `command:"rm" description:"Remove the project's stopped containers"`
		Pause   pauseCmd   `command:"pause" description:"Freeze the project's containers"`
		Unpause unpauseCmd `command:"unpause" description:"Thaw the project's paused containers"`
		Ps      psCmd      `command:"ps" description:"List the project's containers"`
		Ls      lsCmd      `command:"ls" description:"List the projects that have containers"`
		Logs    logsCmd    `command:"logs" description:"Show the output of the project's containers"`
		Exec    execCmd    `command:"exec" pass-after-non-option:"yes" description:"Run a command in a running service container"`
		Run     runCmd     `command:"run" pass-after-non-option:"yes" description:"Run a one-off command in a new container of a service"`
		Config  configCmd  `command:"config" description:"Show the project as compose-go reads it: merged, interpolated, normalised"`
		Build   buildCmd   `command:"build" description:"Build the images of services that have a build section"`
		Pull    pullCmd    `command:"pull" description:"Pull the images of the project's services"`
		Push    pushCmd    `command:"push" description:"Push the images of services that name one"`
		Images  imagesCmd  `command:"images" description:"List the images the project's containers use"`
		Port    portCmd    `command:"port" description:"Show the host address a service's port is published on"`
		Wait    waitCmd    `command:"wait" description:"Wait for the containers of services to stop and print their exit codes"`
		Top     topCmd     `command:"top" description:"List the processes of the project's containers"`
		Events  eventsCmd  `command:"events" description:"Show the project's container events"`
		Cp      cpCmd      `command:"cp" description:"Copy files between a service container and the host"`
	}{}
	a := &app{env: env, g: &opts.Globals, pf: &opts.projectFlags}
	p := cli.NewApplet(env, opts, func(c command, rest []string) error { return c.run(ctx, a, rest) })
	p.ShortDescription = "Run multi-container projects from compose files"
	return p
}

type command interface {
	run(ctx context.Context, a *app, rest []string) error
}

// app is what every command gets: its streams and the global options.
type app struct {
	env *cli.Env
	g   *cli.Globals
	pf  *projectFlags
	mu  sync.Mutex // one progress line at a time, from any goroutine
}

// progress prints one of compose's progress lines ("Container web-1
// Started") to stderr, whole.
func (a *app) progress(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.env.Stderr, format+"\n", args...)
}

// open connects to containerd and opens the container lifecycle of the
// namespace; closing its Client is the caller's.
func (a *app) open(ctx context.Context) (*containers.Containers, error) {
	return a.g.LeptonContainers(ctx, a.env)
}
