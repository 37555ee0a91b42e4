//go:build !windows

package cli

import (
	"context"

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
