//go:build windows

// Package run is lepton-run and lepton-container. Containers run on Linux
// only (runc); on Windows the applets exist so the multicall table is the
// same everywhere, and say so when called.
package run

import (
	"context"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

var errUnsupported = errdefs.ErrNotImplemented.WithMessage("containers need Linux: run lepton on a Linux host (it drives runc through containerd)")

// Main is lepton-run.
func Main(context.Context, *cli.Env, []string) error { return errUnsupported }

// ContainerMain is lepton-container.
func ContainerMain(context.Context, *cli.Env, []string) error { return errUnsupported }

// Parser is lepton-run's command line.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	return cli.NewParser(env, &struct{ cli.Globals }{})
}

// ContainerParser is lepton-container's command line.
func ContainerParser(_ context.Context, env *cli.Env) *flags.Parser {
	return cli.NewParser(env, &struct{ cli.Globals }{})
}
