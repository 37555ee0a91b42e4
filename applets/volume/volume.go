// Package volume is lepton-volume: docker's `volume` commands on lepton's
// store. A volume is a record in the store (collection "volumes" of the
// containerd namespace) plus a directory under the data root:
//
//	<data-root>/volumes/<namespace>/<name>/_data   what containers see
//	<data-root>/volumes/<namespace>/.trash-*       data of a removal in progress
//
// Every change to a volume runs under the volume's store lock, so create,
// rm and prune racing from many processes end in a state one of them
// chose, and a process killed half-way leaves either the whole volume or
// none of it (an interrupted removal is finished by the next rm or prune).
//
// A containerd container uses a volume when it carries the label
// "lepton.volume/<name>" (UsedByLabel). Whoever mounts a volume into a new
// container must set that label while holding the volume's lock (Lock), so
// that no rm can slip in between the check and the mount.
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
	p := cli.NewParser(env.Name, opts)
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
