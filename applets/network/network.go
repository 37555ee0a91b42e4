// Package network is lepton-network: docker's `network` commands over
// common/networks, and the OCI hook that plugs containers in and out.
package network

import (
	"context"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/networks"
)

// Main runs lepton-network with args (the applet name not included).
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// Parser returns lepton-network's command line: a fresh parser whose
// commands run in ctx against env.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Create     createCmd     `command:"create" description:"Create a bridge network"`
		Ls         lsCmd         `command:"ls" alias:"list" description:"List networks"`
		Inspect    inspectCmd    `command:"inspect" description:"Show networks in detail, as a JSON array"`
		Rm         rmCmd         `command:"rm" alias:"remove" description:"Remove networks"`
		Prune      pruneCmd      `command:"prune" description:"Remove networks no running container is on"`
		Connect    connectCmd    `command:"connect" description:"Connect a container to a network"`
		Disconnect disconnectCmd `command:"disconnect" description:"Disconnect a container from a network"`
		Hook       hookCmd       `command:"__hook" hidden:"yes" description:"OCI hook runc runs as a container's task starts and ends (internal)"`
	}{}
	p := cli.NewParser(env, opts)
	p.ShortDescription = "Manage networks"
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

// networks opens the networks of the selected namespace.
func (a *app) networks(ctx context.Context) (*networks.Networks, error) {
	s, err := a.g.Store(ctx)
	if err != nil {
		return nil, err
	}
	return networks.Open(s, a.g.Namespace)
}

func noExtra(rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", strings.Join(rest, " "))
	}
	return nil
}
