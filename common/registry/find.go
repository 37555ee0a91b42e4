package registry

import (
	"context"
	"fmt"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/text"
)

// Find returns the image records ref names in the store: a name (short or
// full), a name@digest, or an ID (the target digest, whole or a unique
// prefix of at least 4 digits; an ID names every tag of that image, and
// is how an untagged build's image is run).
func Find(ctx context.Context, c *containerd.Client, ref string) ([]images.Image, error) {
	is := c.ImageService()
	if name, err := Normalize(ref); err == nil {
		if img, err := is.Get(ctx, name); err == nil {
			return []images.Image{img}, nil
		}
	}
	if img, err := is.Get(ctx, ref); err == nil {
		return []images.Image{img}, nil
	}
	id := strings.TrimPrefix(ref, "sha256:")
	if len(id) >= 4 && text.IsHex(id) {
		all, err := is.List(ctx)
		if err != nil {
			return nil, err
		}
		var out []images.Image
		var target string
		for _, img := range all {
			if strings.HasPrefix(img.Target.Digest.Encoded(), id) {
				if target != "" && target != img.Target.Digest.String() {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image ID prefix %q is ambiguous: give more of it", ref))
				}
				target = img.Target.Digest.String()
				out = append(out, img)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, errdefs.ErrNotFound.WithMessage("no such image: " + text.Quote(ref))
}
