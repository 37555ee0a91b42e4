//go:build !windows

package run

import (
	"context"
	"fmt"
	"os"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// logCmd is the logging binary containerd's shim runs for each start of a
// container (containerd's "binary" log protocol): the container's stdout on
// fd 3, stderr on fd 4, and fd 5 to close once ready. It writes until both
// streams end, holding logger.lock so readers know when the log is whole.
type logCmd struct {
	cli.Command
	Args struct {
		Dir string `positional-arg-name:"<DIR>" required:"yes" description:"Container directory to write container.log in"`
	} `positional-args:"yes"`
}

func (l *logCmd) run(ctx context.Context, a *app, rest []string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	if stdout == nil || stderr == nil || ready == nil {
		return fmt.Errorf("__log is run by containerd's shim, with the container's output on fds 3 and 4")
	}
	return containers.Monitor(l.Args.Dir, a.env.Getenv("CONTAINER_ID"), stdout, stderr, ready)
}
