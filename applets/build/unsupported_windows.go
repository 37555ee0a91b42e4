//go:build windows

// Package build is lepton-build. Builds run in buildkitd's containerd
// worker on Linux; on Windows the applet exists so the multicall table is
// the same everywhere, and says so when called.
package build

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// Main is lepton-build.
func Main(context.Context, *cli.Env, []string) error {
	return errdefs.ErrNotImplemented.WithMessage("lepton build needs Linux, where buildkitd's containerd worker runs")
}

// Parser is lepton-build's command line.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	return cli.NewParser(env, &struct{ cli.Globals }{})
}
