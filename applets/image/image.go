// Package image is lepton-image: docker's image commands on containerd's
// content and image stores. Registries are configured with containerd's
// hosts.toml files and docker's config.json (see common/registry).
package image

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

// Main runs lepton-image.
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// Parser is lepton-image's command line.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Pull    pullCmd    `command:"pull" description:"Download an image from a registry"`
		Push    pushCmd    `command:"push" description:"Upload an image to a registry"`
		Ls      lsCmd      `command:"ls" alias:"list" description:"List images"`
		Rm      rmCmd      `command:"rm" alias:"remove" description:"Remove images"`
		Tag     tagCmd     `command:"tag" description:"Give an image another name"`
		Inspect inspectCmd `command:"inspect" description:"Show images in detail, as a JSON array"`
		History historyCmd `command:"history" description:"Show how an image's layers were made"`
		Save    saveCmd    `command:"save" description:"Write images to a tar archive (OCI layout with docker's manifest.json)"`
		Load    loadCmd    `command:"load" description:"Read images from a tar archive"`
		Import  importCmd  `command:"import" description:"Make an image from a root file system tarball"`
		Prune   pruneCmd   `command:"prune" description:"Remove images no container uses"`
		Login   loginCmd   `command:"login" description:"Store credentials for a registry, once it accepts them"`
		Logout  logoutCmd  `command:"logout" description:"Forget the credentials for a registry"`
	}{}
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, a) })
	p.ShortDescription = "Manage images"
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

func (a *app) client(ctx context.Context) (*containerd.Client, error) { return a.g.Client(ctx) }

func (a *app) infoCache(ctx context.Context) (*infoCache, error) {
	s, err := a.g.Store(ctx)
	if err != nil {
		return nil, err
	}
	col, err := registry.InfoCache(s, a.g.Namespace)
	if err != nil {
		return nil, err
	}
	return &infoCache{col: col}, nil
}

// forget drops the summaries of the targets whose last name lepton just
// removed. It is best effort: a summary left behind is only garbage (ls
// and "system check" find it), never a wrong answer.
func (a *app) forget(ctx context.Context, c *containerd.Client, targets []string) {
	if len(targets) == 0 {
		return
	}
	if s, err := a.g.Store(ctx); err == nil {
		registry.ForgetInfo(ctx, c, s, a.g.Namespace, targets...)
	}
}
