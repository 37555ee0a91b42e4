package containers

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
)

// What other packages' commands need to know about containers, on every
// platform the client builds for (the lifecycle itself is Linux's).

// LabelName is the containerd label holding a lepton container's name.
const LabelName = "lepton/name"

// NameOf is a container's lepton name, or its ID if it has none.
func NameOf(info containers.Container) string {
	if n := info.Labels[LabelName]; n != "" {
		return n
	}
	return info.ID
}

// ImageUsers maps each image name to the IDs of the containers of the
// client's namespace made from it, whatever tool made them: an image in
// use is not removed without force.
func ImageUsers(ctx context.Context, c *containerd.Client) (map[string][]string, error) {
	all, err := c.ContainerService().List(ctx)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, info := range all {
		users[info.Image] = append(users[info.Image], info.ID)
	}
	return users, nil
}
