//go:build !windows

package containers

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/text"
)

// Resolve finds a container by name, full ID or unique ID prefix, as
// docker does; every lepton command that takes a container goes through
// it. It fails with ErrNotFound ("No such container: REF", in docker's
// words), or with ErrInvalidArgument for an empty ref or a prefix that
// matches several.
func (d *Containers) Resolve(ctx context.Context, ref string) (containers.Container, error) {
	if ref == "" {
		return containers.Container{}, errdefs.ErrInvalidArgument.WithMessage("empty container name")
	}
	cs := d.client.ContainerService()
	if store.ValidateKey(ref) == nil {
		if cl, err := d.names.Get(ctx, ref); err == nil {
			if info, err := cs.Get(ctx, cl.ID); err == nil {
				return info, nil
			}
		}
	}
	if info, err := cs.Get(ctx, ref); err == nil {
		return info, nil
	}
	if text.IsHex(ref) {
		all, err := cs.List(ctx, "id~=^"+ref)
		if err != nil {
			return containers.Container{}, err
		}
		switch len(all) {
		case 1:
			return all[0], nil
		case 0:
		default:
			return containers.Container{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container ID prefix %q matches %d containers: give more of it", ref, len(all)))
		}
	}
	return containers.Container{}, errdefs.ErrNotFound.WithMessage("No such container: " + text.Quote(ref))
}
