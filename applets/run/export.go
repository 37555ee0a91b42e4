//go:build !windows

package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type exportCmd struct {
	cli.Command
	Output string `short:"o" long:"output" value-name:"<FILE>" description:"Write to FILE instead of standard output"`
	Args   struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
	} `positional-args:"yes"`
}

// run writes the container's file system as a tar archive, docker export
// style: its snapshot (image and writable layer), mounted read-only, so
// volumes, /proc and the files lepton binds in are not part of it and a
// running container is exported as it stands.
func (e *exportCmd) run(ctx context.Context, a *app, rest []string) error {
	if e.Output == "" && cli.IsTerminal(a.env.Stdout) {
		return cli.Usagef("refusing to write a tar archive to a terminal: give -o FILE or redirect standard output")
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, e.Args.Container)
	if err != nil {
		return err
	}
	if info.SnapshotKey == "" {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has no file system to export", cli.Quote(e.Args.Container)))
	}
	dir, release, err := cs.MountSnapshot(ctx, info, true)
	if err != nil {
		return err
	}
	defer release()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if e.Output == "" {
		return containers.WriteTar(a.env.Stdout, root, ".", ".")
	}
	return writeFileAtomically(e.Output, func(w io.Writer) error { return containers.WriteTar(w, root, ".", ".") })
}

// writeFileAtomically writes name through a temporary file beside it,
// renamed into place once write has succeeded: a failed export leaves no
// half archive behind.
func writeFileAtomically(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
