//go:build !windows

package run

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/cli"
)

// forEach runs fn on every target (names, IDs, or "-" for stdin), prints
// what fn returns for each success, reports each failure on its own line
// and goes on, and fails with exit code 1 if any target failed.
func (a *app) forEach(ctx context.Context, targets []string, fn func(c *containerd.Client, info containers.Container, target string) (string, error)) error {
	refs, err := cli.Targets(a.env, targets)
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	failed := 0
	for _, ref := range refs {
		info, err := a.resolve(ctx, c, ref)
		if err == nil {
			var out string
			out, err = fn(c, info, ref)
			if err == nil {
				if out != "" {
					fmt.Fprintln(a.env.Stdout, out)
				}
				continue
			}
		}
		fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
		failed++
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// targetArgs is the positional list of containers most commands take.
type targetArgs struct {
	Containers []string `positional-arg-name:"<CONTAINER>" required:"1" description:"Container names or IDs (\"-\" reads them from stdin)"`
}
