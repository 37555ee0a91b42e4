package image

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

type tagCmd struct {
	cli.Command
	Args struct {
		Source string `positional-arg-name:"<SOURCE>" required:"yes" description:"Existing image"`
		Target string `positional-arg-name:"<TARGET>" required:"yes" description:"New name for it"`
	} `positional-args:"yes"`
}

func (t *tagCmd) run(ctx context.Context, a *app) error {
	target, err := registry.Normalize(t.Args.Target)
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	src, err := find(ctx, c, t.Args.Source)
	if err != nil {
		return err
	}
	is := c.ImageService()
	img := images.Image{Name: target, Target: src[0].Target, Labels: src[0].Labels}
	if _, err := is.Create(ctx, img); errdefs.IsAlreadyExists(err) {
		if _, err := is.Update(ctx, img, "target"); err != nil {
			return fmt.Errorf("tag %s: %w", target, err)
		}
	} else if err != nil {
		return fmt.Errorf("tag %s: %w", target, err)
	}
	return nil
}
