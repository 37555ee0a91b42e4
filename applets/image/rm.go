package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
)

type rmCmd struct {
	cli.Command
	Force bool `short:"f" long:"force" description:"Remove even if containers use the image, or it has several names"`
	Args  struct {
		Images []string `positional-arg-name:"<IMAGE>" required:"1" description:"Images to remove, by name or ID (\"-\" reads them from stdin)"`
	} `positional-args:"yes"`
}

// run removes names: removing one tag keeps the image's other tags; an ID
// removes every name of the image, which needs -f when there are several.
func (r *rmCmd) run(ctx context.Context, a *app, rest []string) error {
	refs, err := cli.Targets(a.env, append(r.Args.Images, rest...))
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctrs, err := c.ContainerService().List(ctx)
	if err != nil {
		return err
	}
	failed := 0
	var removed []string // targets that lost a name
	defer func() { a.forget(context.WithoutCancel(ctx), c, removed) }()
	for _, ref := range refs {
		err := func() error {
			imgs, err := find(ctx, c, ref)
			if err != nil {
				return err
			}
			if len(imgs) > 1 && !r.Force {
				var names []string
				for _, i := range imgs {
					names = append(names, i.Name)
				}
				return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s has several names (%s): remove them one by one, or use -f", cli.Quote(ref), strings.Join(names, ", ")))
			}
			for _, img := range imgs {
				if !r.Force {
					for _, ct := range ctrs {
						if ct.Image == img.Name {
							return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s is used by container %s: remove the container first, or use -f", cli.Quote(ref), ct.ID[:12]))
						}
					}
				}
				if err := c.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
					return err
				}
				removed = append(removed, img.Target.Digest.Encoded())
				fmt.Fprintf(a.env.Stdout, "Untagged: %s\n", img.Name)
			}
			return nil
		}()
		if err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
			failed++
		}
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
}
