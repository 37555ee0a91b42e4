//go:build !windows

package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
)

// ExecOptions is what docker exec's options change of the container's own
// process for the command it runs there.
type ExecOptions struct {
	// Args is the command and its arguments.
	Args []string
	// Env is KEY=VALUE pairs set on top of the container's environment.
	Env []string
	// Workdir and User replace the container's when set; User is a name
	// or UID, with an optional :GROUP.
	Workdir, User string
	// TTY gives the command a terminal (creator must then be a terminal
	// one, cio.WithTerminal).
	TTY bool
	// Privileged gives the command every capability lepton holds.
	Privileged bool
}

// Exec starts o's command in the running container info (ref is how the
// caller named it, for errors), its streams made by creator, and returns
// the process with its exit status to come. The caller deletes the
// process once done with it, whether or not it has exited.
//
// A container with no task, or one paused or stopping, is an
// errdefs.ErrFailedPrecondition; a command that cannot be run is a
// *CommandError (see StartError), with the process already deleted.
func (d *Containers) Exec(ctx context.Context, info ctrs.Container, ref string, o ExecOptions, creator cio.Creator) (containerd.Process, <-chan containerd.ExitStatus, error) {
	c := d.client
	ctr, err := c.LoadContainer(ctx, info.ID)
	if err != nil {
		return nil, nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", ref))
	}
	if err != nil {
		return nil, nil, err
	}
	// The spec came with the container's record: no second round trip.
	var spec oci.Spec
	if info.Spec == nil || json.Unmarshal(info.Spec.GetValue(), &spec) != nil || spec.Process == nil {
		return nil, nil, fmt.Errorf("container %s has no usable spec", ref)
	}
	proc := *spec.Process
	proc.Args = o.Args
	proc.Terminal = o.TTY
	if len(o.Env) > 0 {
		proc.Env = ReplaceEnv(proc.Env, o.Env)
	}
	if o.Workdir != "" {
		proc.Cwd = o.Workdir
	}
	s := spec
	s.Process = &proc
	if o.User != "" {
		if err := oci.WithUser(o.User)(ctx, c, &info, &s); err != nil {
			return nil, nil, fmt.Errorf("user %s: %w", o.User, err)
		}
	}
	if o.Privileged {
		// Every capability lepton itself holds, as run --privileged
		// gives them.
		if err := oci.WithAllCurrentCapabilities(ctx, c, &info, &s); err != nil {
			return nil, nil, fmt.Errorf("--privileged: %w", err)
		}
	}
	p, err := task.Exec(ctx, "exec-"+NewID()[:16], &proc, creator)
	if err != nil {
		// containerd's own error for a paused or stopping task says little.
		if st, serr := task.Status(ctx); serr == nil && st.Status != containerd.Running {
			return nil, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is %s, not running", ref, st.Status))
		}
		return nil, nil, err
	}
	// The process exists now: an interrupt of the caller must not leave it
	// half set up.
	ctx = context.WithoutCancel(ctx)
	statusC, err := p.Wait(ctx)
	if err != nil {
		p.Delete(ctx)
		return nil, nil, err
	}
	if err := p.Start(ctx); err != nil {
		p.Delete(ctx)
		return nil, nil, StartError(err)
	}
	return p, statusC, nil
}

// ReplaceEnv is env with each KEY=VALUE of add set in it: replacing every
// entry of that KEY already there, or added at the end.
func ReplaceEnv(env, add []string) []string {
	out := append([]string{}, env...)
	for _, kv := range add {
		k := kv
		if i := strings.IndexByte(kv, '='); i >= 0 {
			k = kv[:i]
		}
		replaced := false
		for i, old := range out {
			if j := strings.IndexByte(old, '='); j >= 0 && old[:j] == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}
