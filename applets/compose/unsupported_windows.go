//go:build windows

// Package compose is lepton-compose. Its containers run on Linux; on
// Windows the applet exists so the multicall table is the same
// everywhere, and says so when called.
package compose

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// Main is lepton-compose.
func Main(context.Context, *cli.Env, []string) error {
	return errdefs.ErrNotImplemented.WithMessage("lepton compose needs Linux, where lepton's containers run")
}

// Parser is lepton-compose's command line.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	return cli.NewParser(env, &struct{ cli.Globals }{})
}
