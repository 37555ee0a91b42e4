//go:build !windows

package run

import (
	"context"
	"strings"

	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type execCmd struct {
	cli.Command
	Detach      bool     `short:"d" long:"detach" description:"Start the command and return at once"`
	Interactive bool     `short:"i" long:"interactive" description:"Pass standard input to the command"`
	TTY         bool     `short:"t" long:"tty" description:"Allocate a terminal"`
	Env         []string `short:"e" long:"env" value-name:"<KEY=VALUE>" description:"Set an environment variable"`
	EnvFile     []string `long:"env-file" value-name:"<FILE>" description:"Read environment variables from a file, one KEY=VALUE a line"`
	Privileged  bool     `long:"privileged" description:"Give the command every capability"`
	Workdir     string   `short:"w" long:"workdir" value-name:"<DIR>" description:"Working directory inside the container"`
	User        string   `short:"u" long:"user" value-name:"<USER[:GROUP]>" description:"User (name or UID) to run as"`
	DetachKeys  string   `long:"detach-keys" value-name:"<KEYS>" description:"Keys that end the session under -it (default ctrl-p,ctrl-q); the command loses its terminal"`
}

func (e *execCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) >= 2 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...) // docker's separator before the command
	}
	if len(rest) < 2 {
		return cli.Usagef("exec needs a container and a command: lepton exec [OPTIONS] CONTAINER COMMAND [ARG...]")
	}
	keys, err := parseDetachKeys(e.DetachKeys)
	if err != nil {
		return err
	}
	if !(e.Interactive && e.TTY) {
		keys = nil // without a terminal the input is data, passed as it is
	}
	if e.Interactive && e.TTY && !e.Detach && !cli.IsTerminal(a.env.Stdin) {
		return errdefs.ErrInvalidArgument.WithMessage("the input device is not a TTY: drop -t, or run lepton in a terminal")
	}
	// As with run: the files first, then -e, so -e wins.
	var environ []string
	for _, file := range e.EnvFile {
		kvs, err := readKVFile(file, "--env-file")
		if err != nil {
			return err
		}
		environ = append(environ, cli.ExpandEnv(a.env, kvs)...)
	}
	environ = append(environ, cli.ExpandEnv(a.env, e.Env)...)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return cli.Usagef("bad environment variable %q: the name is empty", kv)
		}
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, rest[0])
	if err != nil {
		return err
	}
	creator := cio.NullIO
	var at *containers.Attachment
	if !e.Detach {
		at, err = containers.Attach(ctx, containers.AttachOptions{
			Stdin: a.env.Stdin, Stdout: a.env.Stdout, Stderr: a.env.Stderr,
			Interactive: e.Interactive, TTY: e.TTY, DetachKeys: keys,
		})
		if err != nil {
			return err
		}
		defer at.Close()
		creator = at.Creator
	}
	p, statusC, err := cs.Exec(ctx, info, rest[0], containers.ExecOptions{
		Args: rest[1:], Env: environ, Workdir: e.Workdir, User: e.User, TTY: e.TTY, Privileged: e.Privileged,
	}, creator)
	if err != nil {
		// Docker's 126 and 127 for a command that cannot be run.
		return commandFailure(err)
	}
	ctx = context.WithoutCancel(ctx)
	defer p.Delete(ctx)
	if e.Detach {
		return nil
	}
	at.Started(ctx, p)
	st, detached := at.Wait(ctx, p, statusC)
	if detached {
		// lepton holds an exec's terminal itself: leaving ends it, and
		// the command gets the hangup of a closed terminal.
		return nil
	}
	code, _, err := st.Result()
	if err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: int(code)}
	}
	return nil
}
