package networks

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
)

// Prune removes every network but the default one that no running container is on
// and that match (nil: all) selects, and returns the names it removed.
// The list it starts from is old by the time it acts: Remove decides
// again under the network's lock, so a network a container joined
// meanwhile is kept, and one someone else removed is no failure. The
// error joins the failures of single networks; the removals that worked
// are returned all the same.
func (ns *Networks) Prune(ctx context.Context, match func(*Network) bool) ([]string, error) {
	all, err := ns.List(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range all {
		// Endpoints are not looked at here: Remove sweeps those of ended
		// containers and keeps a network a running one is on.
		if n.Name == DefaultName || match != nil && !match(n) {
			continue
		}
		err := ns.Remove(ctx, n.Name)
		switch {
		case err == nil:
			removed = append(removed, n.Name)
		case errdefs.IsFailedPrecondition(err), errdefs.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}
