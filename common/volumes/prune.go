package volumes

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
)

// PruneOptions says which unused volumes Prune removes.
type PruneOptions struct {
	All   bool               // named volumes too, not only anonymous ones
	Match func(*Volume) bool // nil: every volume
}

// Pruned is what Prune removed: the volumes' names and the bytes their
// data held.
type Pruned struct {
	Names []string
	Bytes int64
}

// Prune removes the volumes no container uses that o selects. Each
// removal is decided again under the volume's lock, which a container
// being created holds while it marks the volume as its own, so a volume a
// container took meanwhile is kept. The error joins the failures of single
// volumes; what was removed is returned all the same.
func (vs *Volumes) Prune(ctx context.Context, users Users, o PruneOptions) (Pruned, error) {
	all, err := vs.List(ctx)
	if err != nil {
		return Pruned{}, err
	}
	var p Pruned
	var errs []error
	for _, v := range all {
		if !o.All && !v.Anonymous || o.Match != nil && !o.Match(v) {
			continue
		}
		size := v.Size()
		err := vs.Remove(ctx, v.Name, users)
		switch {
		case err == nil:
			p.Names = append(p.Names, v.Name)
			p.Bytes += size
		case errdefs.IsFailedPrecondition(err), errdefs.IsNotFound(err):
			// in use, or removed by someone else meanwhile
		default:
			errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
		}
	}
	return p, errors.Join(errs...)
}
