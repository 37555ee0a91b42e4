//go:build !windows

package run

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type startCmd struct {
	cli.Command
	Attach      bool       `short:"a" long:"attach" description:"Attach to the container's output (and with -i its input) until it exits"`
	Interactive bool       `short:"i" long:"interactive" description:"Attach the container's input (a container made with -i -t)"`
	DetachKeys  string     `long:"detach-keys" value-name:"<KEYS>" description:"Keys that detach from the container (default ctrl-p,ctrl-q)"`
	Args        targetArgs `positional-args:"yes"`
}

func (s *startCmd) run(ctx context.Context, a *app, rest []string) error {
	if s.Attach || s.Interactive {
		targets := append(s.Args.Containers, rest...)
		if len(targets) != 1 {
			return cli.Usagef("you cannot start and attach multiple containers at once")
		}
		return s.attached(ctx, a, targets[0])
	}
	return a.forEach(ctx, append(s.Args.Containers, rest...), 1, func(cs *containers.Containers, info ctrs.Container, ref string) (string, error) {
		ctr, err := cs.Client().LoadContainer(ctx, info.ID)
		if err != nil {
			return "", err
		}
		if _, _, err := cs.Start(ctx, ctr); err != nil {
			if errdefs.IsFailedPrecondition(err) {
				if st, serr := cs.Status(ctx, info.ID); serr == nil && st == containerd.Running {
					return ref, nil // docker: starting a running container is not an error
				}
			}
			return "", failedStart(ctx, cs, info, err)
		}
		return ref, nil
	})
}

// attached is start -a [-i]: attach to the container's monitor before its
// process starts, so no output is missed, then wait for its exit as run
// does (or a detach).
func (s *startCmd) attached(ctx context.Context, a *app, ref string) error {
	if _, err := parseDetachKeys(s.DetachKeys); err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	cfg := containers.ConfigOf(info)
	input := s.Interactive && cfg.OpenStdin
	if input && !cfg.Tty {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("start -i: container %s has no terminal; lepton keeps input open only for containers made with -i -t (use run -i for piped input)", ref))
	}
	ctr, err := cs.Client().LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	interrupted := ctx.Done()
	ctx = context.WithoutCancel(ctx)
	var sess *session
	task, statusC, err := cs.Start(ctx, ctr, containers.BeforeStart(func(containerd.Task) error {
		var err error
		sess, err = a.openSession(cs, info.ID, input, s.DetachKeys)
		return err
	}))
	if err != nil {
		if sess != nil {
			sess.close()
		}
		return failedStart(ctx, cs, info, err)
	}
	defer sess.close()
	sess.followSize(ctx, task)
	code, detached, err := sess.wait(ctx, interrupted, cs, ctr, task, statusC, !cfg.Tty, true)
	if err != nil || detached {
		return err
	}
	sess.close()
	if info.Labels[containers.LabelAutoRemove] == "true" {
		cs.Remove(ctx, info.ID, containers.RemoveOptions{Kill: true, AnonVolumes: true})
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}
