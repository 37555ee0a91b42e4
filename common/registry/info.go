package registry

import (
	"context"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/lepton-project/lepton/common/store"
)

// InfoKind is the store kind of lepton-image's summaries of images (size,
// creation time, config digest), kept under the data root so that listing
// many images reads one small file each instead of their blobs. A record's
// key is the encoded digest of the image target it describes (the hex of
// sha256:...), so it holds for every name of that target and is never
// wrong, only useless once no image has that target.
const InfoKind = "image-info"

// InfoCache is the summary collection of a containerd namespace.
func InfoCache(s *store.Store, namespace string) (*store.Collection, error) {
	return s.Collection(namespace, InfoKind)
}

// OrphanInfo returns the keys of the summaries in namespace whose image is
// gone: no image of the namespace has that target any more. They are
// garbage that rmi and prune did not get to (a lepton killed between
// removing an image and its summary, or images removed by ctr), and
// removing them is always safe: a summary comes back the next time an
// image with that target is listed.
func OrphanInfo(ctx context.Context, c *containerd.Client, s *store.Store, namespace string) ([]string, error) {
	col, err := InfoCache(s, namespace)
	if err != nil {
		return nil, err
	}
	entries, err := col.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	targets, err := imageTargets(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !targets[e.Key] {
			out = append(out, e.Key)
		}
	}
	return out, nil
}

// ForgetInfo removes the summaries of targets (encoded digests) that no
// image of namespace has any more, and keeps the others: rmi and prune
// call it with the targets of the names they removed, since another name
// may still point at the same target.
func ForgetInfo(ctx context.Context, c *containerd.Client, s *store.Store, namespace string, targets ...string) error {
	if len(targets) == 0 {
		return nil
	}
	col, err := InfoCache(s, namespace)
	if err != nil {
		return err
	}
	live, err := imageTargets(ctx, c, namespace)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if live[t] {
			continue
		}
		if err := col.Delete(ctx, t); err != nil {
			return fmt.Errorf("forget the summary of image %s: %w", t, err)
		}
	}
	return nil
}

// imageTargets is the set of encoded target digests of namespace's images.
func imageTargets(ctx context.Context, c *containerd.Client, namespace string) (map[string]bool, error) {
	imgs, err := c.ImageService().List(namespaces.WithNamespace(ctx, namespace))
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(imgs))
	for _, img := range imgs {
		m[img.Target.Digest.Encoded()] = true
	}
	return m, nil
}
