package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/rootless"
)

// enterRootless moves a command of a user who is not root into that
// user's rootless containerd (rootless.Enter: lepton re-executes itself in
// the daemon's namespaces, starting the daemon first if it must, and does
// not return). It returns nil for a command that stays where it is: root's,
// one given its own containerd, "system rootless" (which looks at the
// daemon from outside) and the init of run --init; and an error when
// entering failed.
func enterRootless(ctx context.Context, env *cli.Env, applet string, args []string) error {
	if err := rootless.ErrorAtEnter(); err != nil {
		return err
	}
	if applet == "lepton-init" || env.Getenv("GO_FLAGS_COMPLETION") != "" || !rootless.Wanted(env.Getenv, args) {
		return nil
	}
	if applet == "lepton-system" && firstWord(args) == "rootless" {
		return nil
	}
	d, err := rootless.For(env.Getenv)
	if err != nil {
		return err
	}
	self := env.Getenv("LEPTON_SELF")
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return err
		}
		if b := filepath.Base(self); b != "lepton" && b != "docker" {
			self = filepath.Join(filepath.Dir(self), "lepton") // install.sh's link beside a renamed binary
		}
	}
	return d.Enter(ctx, rootless.EnterOptions{
		StartOptions: rootless.StartOptions{Self: self},
		DataRoot:     cli.DefaultDataRoot(env),
	})
}

// firstWord is the first argument that is neither an option nor the value
// of one of lepton's global options.
func firstWord(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if globalFlags[a] {
			i++ // its value
		}
	}
	return ""
}
