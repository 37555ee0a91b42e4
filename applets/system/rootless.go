//go:build !windows

package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/rootless"
)

// rootlessCmd is the user's rootless daemon, which lepton starts by itself
// at the first command of a user who is not root; these commands look at
// it, start it ahead of time (install.sh --rootless) or stop it. They run
// outside the daemon's namespaces (dispatch does not enter them).
type rootlessCmd struct {
	cli.Command
	Check rootlessCheckCmd `command:"check" description:"Check what rootless mode needs, one line each"`
	Start rootlessStartCmd `command:"start" description:"Start your rootless containerd unless it runs"`
	Stop  rootlessStopCmd  `command:"stop" description:"Stop your rootless containerd and every container it runs"`
	Child rootlessChild    `command:"__child" hidden:"yes" description:"Prepare rootlesskit's namespaces, then become containerd"`
}

func daemonOf(env *cli.Env) (rootless.Daemon, error) {
	return rootless.For(env.Getenv)
}

// run without a subcommand says whether the daemon runs, and where.
func (c *rootlessCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	d, err := daemonOf(env)
	if err != nil {
		return err
	}
	if _, ok := d.Running(); !ok {
		fmt.Fprintf(env.Stdout, "not running (the next lepton command starts it; its directory is %s)\n", d.Dir)
		return &cli.ExitError{Code: 1}
	}
	fmt.Fprintf(env.Stdout, "running: containerd at %s, network %s, log %s\n", d.Address(), d.NetDriver(), d.LogPath())
	return nil
}

type rootlessCheckCmd struct{ cli.Command }

// run prints each prerequisite and fails (exit 1) if one is missing.
func (c *rootlessCheckCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	failed := 0
	for _, p := range rootless.Check("") {
		fmt.Fprintln(env.Stdout, p.String())
		if !p.OK {
			failed++
		}
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("rootless mode cannot start: %d of its prerequisites are missing (the FAIL lines say what to do)", failed)}
	}
	return nil
}

type rootlessStartCmd struct {
	cli.Command
	Foreground bool `long:"foreground" description:"Become the daemon instead of starting it in the background (for a systemd user service)"`
}

func (c *rootlessStartCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	if os.Geteuid() == 0 {
		return cli.Usagef("you are root, who needs no rootless daemon: run this as the user who will use lepton")
	}
	d, err := daemonOf(env)
	if err != nil {
		return err
	}
	self, err := selfPath(env)
	if err != nil {
		return err
	}
	if _, err := d.Start(ctx, rootless.StartOptions{Self: self, Foreground: c.Foreground}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "running: containerd at %s, network %s\n", d.Address(), d.NetDriver())
	return nil
}

// selfPath is the lepton binary rootlesskit runs as its child.
func selfPath(env *cli.Env) (string, error) {
	if s := env.Getenv("LEPTON_SELF"); s != "" {
		return s, nil
	}
	s, err := os.Executable()
	if err != nil {
		return "", err
	}
	if b := filepath.Base(s); b != "lepton" && b != "docker" {
		return "", fmt.Errorf("rootless: this binary is named %q; rootlesskit runs it as \"lepton system rootless __child\", so it must be named lepton (or set LEPTON_SELF to a link named lepton)", b)
	}
	return s, nil
}

type rootlessStopCmd struct{ cli.Command }

func (c *rootlessStopCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	d, err := daemonOf(env)
	if err != nil {
		return err
	}
	return d.Stop(ctx)
}

// rootlessChild is rootlesskit's child: see rootless.Child.
type rootlessChild struct {
	cli.Command
	Args struct {
		Containerd string `positional-arg-name:"<CONTAINERD>" required:"yes" description:"The containerd binary"`
		Config     string `positional-arg-name:"<CONFIG>" required:"yes" description:"Its configuration"`
		Cgroup     string `positional-arg-name:"<CGROUP_FILE>" required:"yes" description:"Where to write the containers' cgroup parent"`
	} `positional-args:"yes"`
}

func (c *rootlessChild) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	if os.Geteuid() != 0 {
		return errors.New("rootless child: not root in a user namespace; rootlesskit runs this, never a person")
	}
	return rootless.Child(c.Args.Containerd, c.Args.Config, c.Args.Cgroup)
}
