package image

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

type pullCmd struct {
	cli.Command
	Quiet    bool   `short:"q" long:"quiet" description:"Print only the image's name"`
	Platform string `long:"platform" value-name:"<OS/ARCH>" description:"Pull this platform (default: this machine's)"`
	Args     struct {
		Image string `positional-arg-name:"<IMAGE>" required:"yes" description:"Image to pull, e.g. alpine or registry.example.com/app:1.2"`
	} `positional-args:"yes"`
}

func (p *pullCmd) run(ctx context.Context, a *app) error {
	name, err := registry.Normalize(p.Args.Image)
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	o := registry.PullOptions{Registry: a.g.Registry(), Platform: p.Platform}
	if !p.Quiet {
		o.Out, o.TTY = a.env.Stdout, cli.IsTerminal(a.env.Stdout)
	}
	img, err := registry.Pull(ctx, c, name, o)
	if err != nil {
		return err
	}
	a.remember(ctx, c, img.Metadata())
	if p.Quiet {
		fmt.Fprintln(a.env.Stdout, name)
		return nil
	}
	fmt.Fprintf(a.env.Stdout, "Digest: %s\nPulled: %s\n", img.Target().Digest, name)
	return nil
}

// remember fills ls's summary cache for an image lepton just brought in,
// so the first listing afterwards is as quick as the next.
func (a *app) remember(ctx context.Context, c *containerd.Client, img images.Image) {
	if cache, err := a.infoCache(ctx); err == nil {
		summarize(ctx, c, cache, img)
	}
}
