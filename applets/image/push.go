package image

import (
	"context"
	"fmt"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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
	opts := []containerd.RemoteOpt{containerd.WithResolver(registry.Resolver(ctx, a.g.Registry()))}
	if p.Platform != "" {
		spec, err := platforms.Parse(p.Platform)
		if err != nil {
			return cli.Usagef("bad --platform %q: %v", p.Platform, err)
		}
		opts = append(opts, containerd.WithPlatformMatcher(platforms.OnlyStrict(spec)))
	}
	var mu sync.Mutex
	if !p.Quiet {
		// One line per blob as it goes, layers in parallel.
		opts = append(opts, containerd.WithImageHandlerWrapper(func(h images.Handler) images.Handler {
			return images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
				children, err := h.Handle(ctx, d)
				mu.Lock()
				fmt.Fprintf(a.env.Stdout, "%s: pushed %s\n", remotes.MakeRefKey(ctx, d), cli.HumanSize(d.Size))
				mu.Unlock()
				return children, err
			})
		}))
	}
	if err := c.Push(ctx, img.Name, img.Target, opts...); err != nil {
		return fmt.Errorf("push %s: %w", img.Name, err)
	}
	if p.Quiet {
		fmt.Fprintln(a.env.Stdout, img.Name)
		return nil
	}
	fmt.Fprintf(a.env.Stdout, "Digest: %s\nPushed: %s\n", img.Target.Digest, img.Name)
	return nil
}
