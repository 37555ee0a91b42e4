// Package network is lepton-network: docker's `network` commands over
// common/networks, and the OCI hook that plugs containers in and out.
package network

import (
	"context"

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
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, a) })
	p.ShortDescription = "Manage networks"
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

// networks opens the networks of the selected namespace. Their changes
// are told as events, through a connection made only for each one.
func (a *app) networks(ctx context.Context) (*networks.Networks, error) {
	s, err := a.g.Store(ctx)
	if err != nil {
		return nil, err
	}
	return networks.Open(s, a.g.Namespace, networks.WithEvents(a.g.Events()))
}
