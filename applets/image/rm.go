package image

import (
	"context"
	"fmt"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
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
func (r *rmCmd) run(ctx context.Context, a *app) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	users, err := containers.ImageUsers(ctx, c)
	if err != nil {
		return err
	}
	var removed []string // targets that lost a name
	defer func() { a.forget(context.WithoutCancel(ctx), c, removed) }()
	return cli.ForEach(a.env, r.Args.Images, func(ref string) (string, error) {
		imgs, err := find(ctx, c, ref)
		if err != nil {
			return "", err
		}
		if len(imgs) > 1 && !r.Force {
			var names []string
			for _, i := range imgs {
				names = append(names, i.Name)
			}
			return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s has several names (%s): remove them one by one, or use -f", cli.Quote(ref), strings.Join(names, ", ")))
		}
		// An ID with -f untags one name after the other. Should one fail,
		// those already untagged are said all the same: ForEach drops a
		// failed target's result, and it runs the targets one at a time,
		// so printing here keeps them in order.
		var untagged []string
		for _, img := range imgs {
			if err := r.untag(ctx, c, ref, img, users); err != nil {
				if len(untagged) > 0 {
					fmt.Fprintln(a.env.Stdout, strings.Join(untagged, "\n"))
				}
				return "", err
			}
			removed = append(removed, img.Target.Digest.Encoded())
			untagged = append(untagged, "Untagged: "+img.Name)
		}
		return strings.Join(untagged, "\n"), nil
	})
}

// untag removes the name img has, unless (without -f) a container uses
// it; ref is how the user named the image.
func (r *rmCmd) untag(ctx context.Context, c *containerd.Client, ref string, img images.Image, users map[string][]string) error {
	if ids := users[img.Name]; len(ids) > 0 && !r.Force {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s is used by container %s: remove the container first, or use -f", cli.Quote(ref), ids[0][:min(12, len(ids[0]))]))
	}
	err := c.ImageService().Delete(ctx, img.Name, images.SynchronousDelete())
	if errdefs.IsNotFound(err) {
		return nil // removed meanwhile: what rm wanted
	}
	return err
}
