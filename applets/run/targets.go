//go:build !windows

package run

import (
	"context"

	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// parallelTargets is how many containers rm, stop, restart and kill work
// on at once, as docker's CLI does: each mostly waits on containerd, the
// shim or the container's exit, so a few at once make rm -f of a hundred
// containers about as fast as ctr's.
const parallelTargets = 8

// forEach runs fn on every target (names, IDs, or "-" for stdin), up to
// parallel at once, prints what fn returns for each success in target
// order, and fails with one line per failed target (exit 1).
func (a *app) forEach(ctx context.Context, targets []string, parallel int, fn func(cs *containers.Containers, info ctrs.Container, target string) (string, error)) error {
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	return cli.ForEach(a.env, targets, func(ref string) (string, error) {
		info, err := cs.Resolve(ctx, ref)
		if err != nil {
			return "", err
		}
		return fn(cs, info, ref)
	}, cli.Parallel(parallel))
}

// targetArgs is the positional list of containers most commands take.
type targetArgs struct {
	Containers []string `positional-arg-name:"<CONTAINER>" required:"1" description:"Container names or IDs (\"-\" reads them from stdin)"`
}
