package registry

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/check"
	lleases "github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/store"
)

// Check reports what killed image commands left in namespace:
//
//   - stale-lease: a lease of a lepton that is gone (a killed pull, load,
//     import or run), pinning content no image may use; repair deletes it
//     so containerd can collect that content. A killed pull's lease is what
//     lets the next pull resume: repairing it means that pull starts over.
//   - orphan-summary: lepton's summary of an image that no longer exists
//     (repair removes it; it is remade when such an image is listed).
//
// Leases of other tools, and of live leptons, are never touched.
func Check(ctx context.Context, c *containerd.Client, s *store.Store, namespace string, repair bool) ([]check.Problem, error) {
	r := &check.Report{Area: "images", Repair: repair}
	stale, err := lleases.StaleLeases(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, l := range stale {
		what := "a lepton " + lleases.Purpose(l) + " that was killed"
		if lleases.Purpose(l) == "" {
			what = "a lepton that was killed"
		}
		detail := fmt.Sprintf("a lease of %s, pinning what it fetched; repair deletes it", what)
		if lleases.Purpose(l) == lleases.Pull {
			detail += " (the next pull of that image then starts over)"
		}
		r.Add("stale-lease", l.ID, detail, func() error {
			if err := c.LeasesService().Delete(ctx, l); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			return nil
		})
	}
	orphans, err := OrphanInfo(ctx, c, s, namespace)
	if err != nil {
		return nil, err
	}
	for _, key := range orphans {
		r.Add("orphan-summary", "sha256:"+key, "lepton's summary of an image that no longer exists; repair removes it", func() error {
			return ForgetInfo(ctx, c, s, namespace, key)
		})
	}
	return r.Problems, nil
}
