//go:build !windows

package cli

import (
	"context"
	"os"

	"github.com/lepton-project/lepton/common/containers"
)

// Containers connects to containerd and opens the container lifecycle of
// the resolved namespace and data root, with opts added; closing its
// Client is the caller's.
func (g *Globals) Containers(ctx context.Context, opts ...containers.Option) (*containers.Containers, error) {
	c, err := g.Client(ctx)
	if err != nil {
		return nil, err
	}
	s, err := g.Store(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	opts = append([]containers.Option{containers.WithNamespace(g.Namespace), containers.WithDataRoot(g.DataRoot), containers.WithAddress(g.Address), containers.WithRegistry(g.Registry())}, opts...)
	cs, err := containers.Open(c, s, opts...)
	if err != nil {
		c.Close()
		return nil, err
	}
	return cs, nil
}

// LeptonContainers is Containers as lepton's own commands open it: lepton
// itself is the logging binary the shim runs for each container, progress
// goes to env's stderr, and LEPTON_INIT names a static lepton for --init
// where this one is not (the test harness's binary is built with cgo).
// The test harness sets LEPTON_SELF because its binary answers to applet
// names only through the links it made.
func (g *Globals) LeptonContainers(ctx context.Context, env *Env, extra ...containers.Option) (*containers.Containers, error) {
	self := env.Getenv("LEPTON_SELF")
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	opts := append([]containers.Option{containers.WithLogger(self), containers.WithProgress(env.Stderr, IsTerminal(env.Stderr))}, extra...)
	if initPath := env.Getenv("LEPTON_INIT"); initPath != "" {
		opts = append(opts, containers.WithInit(initPath))
	}
	return g.Containers(ctx, opts...)
}
