package image

import (
	"context"
	"fmt"
	"io"
	"os"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"

	"github.com/lepton-project/lepton/common/cli"
)

type loadCmd struct {
	cli.Command
	Input string `short:"i" long:"input" value-name:"<FILE>" description:"Read from a file (default: standard input)"`
	Quiet bool   `short:"q" long:"quiet" description:"Print nothing but errors"`
}

// run imports docker and OCI archives. Blobs are checked against their
// digests as they are stored, and an image is only named once all its
// content is in, so a corrupt or truncated archive leaves no image behind.
func (l *loadCmd) run(ctx context.Context, a *app, rest []string) error {
	if err := noExtra(rest); err != nil {
		return err
	}
	var r io.Reader = a.env.Stdin
	if l.Input != "" {
		f, err := os.Open(l.Input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	} else if isTerminal(a.env.Stdin) {
		return cli.Usagef("load reads an archive from standard input, which is a terminal: use -i FILE or redirect it")
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, done, err := c.WithLease(ctx)
	if err != nil {
		return err
	}
	defer done(context.WithoutCancel(ctx))
	imgs, err := c.Import(ctx, r, containerd.WithImportPlatform(platforms.DefaultStrict()), containerd.WithSkipMissing())
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("load: not a usable image archive: %v", err))
	}
	if len(imgs) == 0 {
		return errdefs.ErrInvalidArgument.WithMessage("load: the archive holds no named image")
	}
	for _, img := range imgs {
		ci := containerd.NewImage(c, img)
		if err := ci.Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
			return fmt.Errorf("load: unpack %s: %w", img.Name, err)
		}
		a.remember(ctx, c, img)
		if !l.Quiet {
			fmt.Fprintf(a.env.Stdout, "Loaded image: %s\n", img.Name)
		}
	}
	return nil
}
