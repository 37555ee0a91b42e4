package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"

	"github.com/lepton-project/lepton/common/cli"
)

type saveCmd struct {
	cli.Command
	Output   string `short:"o" long:"output" value-name:"<FILE>" description:"Write to a file (default: standard output)"`
	Platform string `long:"platform" value-name:"<OS/ARCH>" description:"Save only this platform (default: all that are present)"`
	Args     struct {
		Images []string `positional-arg-name:"<IMAGE>" required:"1" description:"Images to save"`
	} `positional-args:"yes"`
}

// run writes an archive that docker and OCI tools both read: an OCI image
// layout with docker's manifest.json beside it. A file is written under a
// temporary name and renamed when whole.
func (s *saveCmd) run(ctx context.Context, a *app) error {
	if s.Output == "" && cli.IsTerminal(a.env.Stdout) {
		return cli.Usagef("refusing to write an archive to a terminal: use -o FILE or redirect standard output")
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := []archive.ExportOpt{}
	for _, ref := range s.Args.Images {
		imgs, err := find(ctx, c, ref)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			opts = append(opts, archive.WithImage(c.ImageService(), img.Name))
		}
	}
	if s.Platform != "" {
		spec, err := platforms.Parse(s.Platform)
		if err != nil {
			return cli.Usagef("bad --platform %q: %v", s.Platform, err)
		}
		opts = append(opts, archive.WithPlatform(platforms.OnlyStrict(spec)))
	} else {
		opts = append(opts, archive.WithPlatform(platforms.All), archive.WithSkipMissing(c.ContentStore()))
	}
	var w io.Writer = a.env.Stdout
	var tmp *os.File
	if s.Output != "" {
		tmp, err = os.CreateTemp(filepath.Dir(s.Output), ".lepton-save-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		w = tmp
	}
	if err := c.Export(ctx, w, opts...); err != nil {
		if tmp != nil {
			tmp.Close()
		}
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("save: part of the image is not here (was it pulled for another platform? try --platform): %w", err)
		}
		return fmt.Errorf("save: %w", err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), s.Output)
	}
	return nil
}
