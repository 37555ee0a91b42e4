//go:build !windows

// Package system is lepton-system: commands about lepton as a whole.
// "check" is lepton's fsck, which finds what killed or crashed commands
// left and, with --repair, finishes or rolls it back; "info", "events",
// "df" and "prune" are docker's system commands.
package system

import (
	"context"
	"fmt"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
)

// Main runs lepton-system with args (the applet name not included).
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// Parser returns lepton-system's command line.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Check    checkCmd    `command:"check" description:"Find (and with --repair, fix) what killed or crashed commands left"`
		Df       dfCmd       `command:"df" description:"Show the disk space images, containers, volumes and the build cache use"`
		Events   eventsCmd   `command:"events" description:"Stream what happens to containers, images, networks and volumes"`
		Info     infoCmd     `command:"info" description:"Show how lepton and containerd are set up"`
		Prune    pruneCmd    `command:"prune" description:"Remove stopped containers, unused networks, dangling images and the build cache"`
		Rootless rootlessCmd `command:"rootless" subcommands-optional:"yes" description:"Check, start or stop your rootless containerd (lepton starts it by itself)"`
	}{}
	p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, env, &opts.Globals) })
	p.ShortDescription = "Manage lepton itself"
	return p
}

type command interface {
	run(ctx context.Context, env *cli.Env, g *cli.Globals) error
}

type checkCmd struct {
	cli.Command
	Repair bool   `long:"repair" description:"Fix each problem found: finish or roll back half-done work, remove orphans"`
	Format string `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line) or a Go template"`
}

// run checks the containers, networks, volumes and images of the
// namespace, in that order (a rolled-back container frees its network
// address and its volumes), prints one line per problem and fails with exit 1 if there
// was any.
func (c *checkCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	client, err := g.Client(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	s, err := g.Store(ctx)
	if err != nil {
		return err
	}
	d, err := containers.Open(client, s, containers.WithNamespace(g.Namespace), containers.WithDataRoot(g.DataRoot))
	if err != nil {
		return err
	}
	var all []check.Problem
	for _, step := range []func() ([]check.Problem, error){
		func() ([]check.Problem, error) { return d.Check(ctx, c.Repair) },
		func() ([]check.Problem, error) { return d.Networks().Check(ctx, c.Repair) },
		func() ([]check.Problem, error) { return d.Volumes().Check(ctx, c.Repair) },
		func() ([]check.Problem, error) { return registry.Check(ctx, client, s, g.Namespace, c.Repair) },
	} {
		ps, err := step()
		if err != nil {
			return err
		}
		all = append(all, ps...)
	}
	if c.Format == "" {
		for _, p := range all {
			fmt.Fprintln(env.Stdout, p.String())
		}
	} else if err := cli.Print(env.Stdout, c.Format, cli.Table{}, all); err != nil {
		return err
	}
	failed := 0
	for _, p := range all {
		if !p.Repaired {
			failed++
		}
	}
	switch {
	case failed > 0 && c.Repair:
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d of %d problems could not be repaired", failed, len(all))}
	case failed > 0:
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d problems found: 'lepton system check --repair' fixes them", failed)}
	}
	return nil
}
