//go:build !windows

package network

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
)

// container finds a container with lepton's one resolver (name, ID or
// unique ID prefix), and the PID of its task if it runs (0 if not).
func (a *app) container(ctx context.Context, ref string) (string, int, error) {
	cs, err := a.g.Containers(ctx)
	if err != nil {
		return "", 0, err
	}
	client := cs.Client()
	defer client.Close()
	info, err := cs.Resolve(ctx, ref)
	if err != nil {
		return "", 0, err
	}
	ctr, err := client.LoadContainer(ctx, info.ID)
	if err != nil {
		return "", 0, err
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return info.ID, 0, nil
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status != containerd.Running && st.Status != containerd.Paused {
		return info.ID, 0, nil
	}
	return info.ID, int(task.Pid()), nil
}
