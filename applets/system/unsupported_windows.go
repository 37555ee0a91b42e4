//go:build windows

// Package system is lepton-system. lepton's state lives beside containerd
// on Linux; on Windows the applet exists so the multicall table is the
// same everywhere, and says so when called.
package system

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// Main is lepton-system.
func Main(context.Context, *cli.Env, []string) error {
	return errdefs.ErrNotImplemented.WithMessage("lepton system needs Linux, where lepton's containers live")
}

// Parser is lepton-system's command line.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	return cli.NewParser(env, &struct{ cli.Globals }{})
}
