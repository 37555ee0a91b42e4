//go:build !windows

package run

import (
	"context"
	"strconv"

	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type waitCmd struct {
	cli.Command
	Args targetArgs `positional-args:"yes"`
}

// run prints each container's exit code once it has stopped (at once for
// one that has); a container that never ran has none to wait for, and is
// reported as an error.
func (w *waitCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(w.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		code, err := cs.Wait(ctx, info)
		return strconv.Itoa(code), err
	})
}
