//go:build !linux

package pid1

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// Main refuses: lepton-init is a Linux container's PID 1.
func Main(ctx context.Context, env *cli.Env, args []string) error {
	return errdefs.ErrNotImplemented.WithMessage("lepton-init runs as PID 1 in Linux containers only")
}

// Parser is lepton-init's command line.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	p := cli.NewParser(env, &struct{}{})
	p.Usage = "[--] <CMD> [ARG...]"
	p.ShortDescription = "Run a command as a container's init: forward signals, reap zombies"
	return p
}
