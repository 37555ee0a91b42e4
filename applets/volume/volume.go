// Package volume is lepton-volume: docker's `volume` commands over
// common/volumes.
package volume

import (
	"context"
	"strings"

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
	p := cli.NewParser(env, opts)
	p.ShortDescription = "Manage volumes"
	p.CommandHandler = func(c flags.Commander, rest []string) error {
		opts.Globals.Resolve(env)
		return c.(command).run(ctx, &app{env: env, g: &opts.Globals}, rest)
	}
	return p
}

// command is a subcommand; rest holds the arguments go-flags did not take.
type command interface {
	run(ctx context.Context, a *app, rest []string) error
}

// app is what every subcommand gets: the streams and the global options.
type app struct {
	env *cli.Env
	g   *cli.Globals
}

func noExtra(rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", strings.Join(rest, " "))
	}
	return nil
}
