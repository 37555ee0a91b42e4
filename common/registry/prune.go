package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	containerdleases "github.com/containerd/containerd/v2/core/leases"

	"github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/store"
)

// PruneOptions says which images PruneImages removes.
type PruneOptions struct {
	// All removes every image no container uses; otherwise only dangling
	// ones, known by digest alone.
	All bool
	// Match selects among those (nil: all of them).
	Match func(images.Image) bool
	// Users maps image names to the containers made from them
	// (containers.ImageUsers): an image with a user is never removed.
	Users map[string][]string
}

// PruneResult is what PruneImages removed.
type PruneResult struct {
	Names  []string // image names removed
	Leases int      // leases of killed lepton commands deleted
}

// PruneImages removes unused images of the client's namespace, and first
// the leases of lepton commands that were killed (leases.StaleLeases),
// which would otherwise keep what they fetched from the garbage collector
// for a day; without All it keeps those of killed pulls, which let the
// next pull of their image resume. Content goes with the last name that
// held it (containerd's synchronous delete). A failed lease clean-up or a
// failed removal of one image is in the error; the rest is done anyway.
func PruneImages(ctx context.Context, c *containerd.Client, s *store.Store, namespace string, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	var errs []error
	keep := func(l containerdleases.Lease) bool { return !o.All && leases.Purpose(l) == leases.Pull }
	freed, err := leases.DeleteStale(ctx, c, keep)
	if err != nil {
		errs = append(errs, err)
	}
	res.Leases = len(freed)
	all, err := c.ImageService().List(ctx)
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	var targets []string
	for _, img := range all {
		if len(o.Users[img.Name]) > 0 || !o.All && !IsDangling(img.Name) || o.Match != nil && !o.Match(img) {
			continue
		}
		// Users is as old as the call: ask again for this image alone, so
		// a container made from it since is seen (a run that has found the
		// image but not yet made its container still races this).
		if users, err := c.ContainerService().List(ctx, "image=="+strconv.Quote(img.Name)); err != nil || len(users) > 0 {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: see whether a container uses it: %w", img.Name, err))
			}
			continue
		}
		if err := c.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", img.Name, err))
			continue
		}
		res.Names = append(res.Names, img.Name)
		targets = append(targets, img.Target.Digest.Encoded())
	}
	if s != nil && len(targets) > 0 {
		ForgetInfo(ctx, c, s, namespace, targets...)
	}
	return res, errors.Join(errs...)
}
