// Package volume is lepton-volume: docker's `volume` commands over
// common/volumes.
package volume

import (
	"context"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// Main runs lepton-volume with args (the applet name not included).
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// Parser returns lepton-volume's command line: a fresh parser whose
// commands run in ctx against env.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Create  createCmd  `command:"create" description:"Create a volume"`
		Ls      lsCmd      `command:"ls" alias:"list" description:"List volumes"`
		Inspect inspectCmd `command:"inspect" description:"Show volumes in detail, as a JSON array"`
		Rm      rmCmd      `command:"rm" alias:"remove" description:"Remove volumes"`
		Prune   pruneCmd   `command:"prune" description:"Remove volumes no container uses"`
	}{}
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, a) })
	p.ShortDescription = "Manage volumes"
	return p
}

// command is a subcommand.
type command interface {
	run(ctx context.Context, a *app) error
}

// app is what every subcommand gets: the streams and the global options.
type app struct {
	env *cli.Env
	g   *cli.Globals
}
