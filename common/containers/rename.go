//go:build !windows

package containers

import (
	"context"
	"encoding/json"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"

	"github.com/lepton-project/lepton/common/store"
)

// Rename gives container info the name newName. It claims the new name
// first, then moves the container to it, then drops the old claim: a rename
// killed part-way leaves the container under one of its names, never under
// none. A name in use fails with ErrAlreadyExists.
func (d *Containers) Rename(ctx context.Context, info containers.Container, newName string) error {
	oldName := info.Labels[LabelName]
	for tries := 0; oldName != newName && oldName != "" && store.ValidateKey(oldName) == nil; tries++ {
		// Update rewrites a container under its name's lock: wait for one
		// at work, and read the container again, so neither change is lost.
		if err := d.names.Begin(ctx, oldName, info.ID, OpRename); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		fresh, err := d.client.ContainerService().Get(ctx, info.ID)
		if err != nil {
			d.names.Done(context.WithoutCancel(ctx), oldName, info.ID)
			return err
		}
		info = fresh
		if info.Labels[LabelName] == oldName || tries == 3 {
			defer d.names.Done(context.WithoutCancel(ctx), oldName, info.ID)
			break
		}
		// Another rename won meanwhile: the claim under the name read
		// first is not the container's any more.
		d.names.Release(context.WithoutCancel(ctx), oldName, info.ID)
		oldName = info.Labels[LabelName]
	}
	if newName == oldName {
		return nil
	}
	if err := d.names.Take(ctx, d.client, newName, info.ID); err != nil {
		return err
	}
	cfg := ConfigOf(info)
	cfg.Name = newName
	b, err := json.Marshal(cfg)
	if err == nil {
		var ctr containerd.Container
		if ctr, err = d.client.LoadContainer(ctx, info.ID); err == nil {
			err = ctr.Update(ctx, func(_ context.Context, _ *containerd.Client, cc *containers.Container) error {
				if cc.Labels == nil {
					cc.Labels = map[string]string{}
				}
				cc.Labels[LabelName] = newName
				if cc.Extensions == nil {
					cc.Extensions = map[string]typeurl.Any{}
				}
				cc.Extensions[extConfig] = &rawAny{url: configTypeURL, value: b}
				return nil
			})
		}
	}
	if err != nil {
		d.names.Release(context.WithoutCancel(ctx), newName, info.ID)
		return err
	}
	d.names.Done(ctx, newName, info.ID)
	d.publish(ctx, info, "rename", map[string]string{"name": newName, "oldName": oldName})
	if oldName != "" {
		return d.names.Release(ctx, oldName, info.ID)
	}
	return nil
}
