//go:build !windows

package run

import (
	"context"
	"fmt"

	"github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type cpCmd struct {
	cli.Command
	Archive    bool `short:"a" long:"archive" description:"Keep the files' owners (UID and GID) and full modes"`
	FollowLink bool `short:"L" long:"follow-link" description:"Copy what a symbolic link at SRC points to, not the link itself"`
	Quiet      bool `short:"q" long:"quiet" description:"Print no summary (one is printed only when standard error is a terminal)"`
	Args       struct {
		Src  string `positional-arg-name:"<SRC>" required:"yes" description:"CONTAINER:PATH, a host path, or - for a tar stream on stdin"`
		Dest string `positional-arg-name:"<DEST>" required:"yes" description:"CONTAINER:PATH, a host path, or - for a tar stream on stdout"`
	} `positional-args:"yes"`
}

// run copies between a container and the host, docker style; the copy
// itself, and what keeps it inside the container's root, is
// containers.Copy's.
func (cp *cpCmd) run(ctx context.Context, a *app, rest []string) error {
	n, err := cp.copy(ctx, a)
	if err != nil || cp.Quiet || cp.Args.Src == "-" || cp.Args.Dest == "-" || !cli.IsTerminal(a.env.Stderr) {
		return err
	}
	fmt.Fprintf(a.env.Stderr, "Successfully copied %s to %s\n", units.HumanSizeWithPrecision(float64(n), 3), cp.Args.Dest)
	return nil
}

// copy does run's copy and says how many bytes of tar stream it took.
// The arguments are checked before containerd is reached, so that a
// mistaken command line is a usage error even with containerd down.
func (cp *cpCmd) copy(ctx context.Context, a *app) (int64, error) {
	if err := containers.CheckCopyPaths(cp.Args.Src, cp.Args.Dest); err != nil {
		return 0, cli.Usagef("%s", err)
	}
	cs, err := a.open(ctx)
	if err != nil {
		return 0, err
	}
	c := cs.Client()
	defer c.Close()
	return cs.Copy(ctx, cp.Args.Src, cp.Args.Dest, a.env.Stdin, a.env.Stdout, containers.CopyOptions{Archive: cp.Archive, FollowLink: cp.FollowLink})
}
