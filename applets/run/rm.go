//go:build !windows

package run

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/volumes"
)

type rmCmd struct {
	cli.Command
	Force   bool       `short:"f" long:"force" description:"Kill running containers first"`
	Volumes bool       `short:"v" long:"volumes" description:"Also remove the container's anonymous volumes"`
	Args    targetArgs `positional-args:"yes"`
}

func (r *rmCmd) run(ctx context.Context, a *app, rest []string) error {
	return a.forEach(ctx, append(r.Args.Containers, rest...), func(c *containerd.Client, info containers.Container, ref string) (string, error) {
		if !r.Force {
			if running, err := isRunning(ctx, c, info.ID); err != nil {
				return "", err
			} else if running {
				return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is running: stop it first, or use rm -f", ref))
			}
		}
		if err := a.remove(ctx, c, info.ID, r.Volumes); err != nil {
			return "", err
		}
		return ref, nil
	})
}

func isRunning(ctx context.Context, c *containerd.Client, id string) (bool, error) {
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return false, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := task.Status(ctx)
	if err != nil {
		return false, err
	}
	return st.Status != containerd.Stopped, nil
}

// remove kills and deletes a container with everything lepton kept for it:
// task, snapshot, log directory, name claim and, if asked, its anonymous
// volumes. Removing a container that is already gone succeeds.
func (a *app) remove(ctx context.Context, c *containerd.Client, id string, anonVolumes bool) error {
	ctr, err := c.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return err
	}
	if info.Labels[restartPolicyLabel] != "" {
		ctr.SetLabels(ctx, map[string]string{restartStatusLabel: "stopped"})
	}
	if task, err := ctr.Task(ctx, nil); err == nil {
		if st, err := task.Status(ctx); err == nil && st.Status != containerd.Stopped {
			if ch, err := task.Wait(ctx); err == nil {
				task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll)
				select {
				case <-ch:
				case <-time.After(30 * time.Second):
				}
			}
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task: %w", err)
		}
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container: %w", err)
	}
	if info.Labels[labelNetwork] != "" {
		// The poststop hook has normally left the network already; this
		// catches a task whose hook never ran (a killed shim).
		if nets, err := a.networks(ctx); err == nil {
			nets.Detach(ctx, id)
		}
	}
	os.RemoveAll(a.g.ContainerDir(id))
	if names, err := a.names(ctx); err == nil {
		if name := info.Labels[labelName]; name != "" {
			releaseName(ctx, names, name, id)
		}
	}
	if anonVolumes || info.Labels["lepton/auto-remove"] == "true" {
		if vs, err := a.volumes(ctx); err == nil {
			users := volumes.ContainerUsers(c)
			for k := range info.Labels {
				if vname, ok := strings.CutPrefix(k, volumes.UsedByLabel); ok {
					if v, err := vs.Get(ctx, vname); err == nil && v.Anonymous {
						vs.Remove(ctx, vname, users)
					}
				}
			}
		}
	}
	return nil
}
