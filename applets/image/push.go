package image

import (
	"context"
	"fmt"

	"github.com/containerd/platforms"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

type pushCmd struct {
	cli.Command
	Quiet    bool   `short:"q" long:"quiet" description:"Print only the image's name"`
	Platform string `long:"platform" value-name:"<OS/ARCH>" description:"Push only this platform (default: all that are present)"`
	Args     struct {
		Image string `positional-arg-name:"<IMAGE>" required:"yes" description:"Image to push"`
	} `positional-args:"yes"`
}

func (p *pushCmd) run(ctx context.Context, a *app) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	imgs, err := find(ctx, c, p.Args.Image)
	if err != nil {
		return err
	}
	img := imgs[0]
	if p.Platform != "" {
		if _, err := platforms.Parse(p.Platform); err != nil {
			return cli.Usagef("bad --platform %q: %v", p.Platform, err)
		}
	}
	o := registry.PushOptions{Registry: a.g.Registry(), Platform: p.Platform}
	if !p.Quiet {
		o.Out = a.env.Stdout
	}
	if err := registry.Push(ctx, c, img, o); err != nil {
		return err
	}
	if p.Quiet {
		fmt.Fprintln(a.env.Stdout, img.Name)
		return nil
	}
	fmt.Fprintf(a.env.Stdout, "Digest: %s\nPushed: %s\n", img.Target.Digest, img.Name)
	return nil
}
