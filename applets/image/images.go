package image

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/store"
)

// find returns the image records ref names: see registry.Find.
func find(ctx context.Context, c *containerd.Client, ref string) ([]images.Image, error) {
	return registry.Find(ctx, c, ref)
}

// summary is what ls shows of an image. It depends only on the image's
// target digest, so it is cached in the store under that digest (see
// registry.InfoKind): listing 200 images then reads 200 small files
// instead of 600 blobs.
type summary struct {
	Size      int64
	Created   time.Time
	Config    string // config digest
	Platforms []string
}

// infoCache is the summary cache; preloaded holds the records ls read in
// one pass, so it need not open them one by one.
type infoCache struct {
	col       *store.Collection
	preloaded map[string][]byte
}

func (ic *infoCache) get(ctx context.Context, key string) ([]byte, bool) {
	if ic == nil {
		return nil, false
	}
	if ic.preloaded != nil {
		b, ok := ic.preloaded[key]
		return b, ok
	}
	b, err := ic.col.Get(ctx, key)
	return b, err == nil
}

func (ic *infoCache) put(ctx context.Context, key string, b []byte) {
	if ic != nil {
		ic.col.Put(ctx, key, b)
	}
}

func summarize(ctx context.Context, c *containerd.Client, cache *infoCache, img images.Image) (summary, error) {
	key := img.Target.Digest.Encoded()
	var s summary
	if b, ok := cache.get(ctx, key); ok && json.Unmarshal(b, &s) == nil {
		return s, nil
	}
	ci := containerd.NewImage(c, img)
	size, err := ci.Size(ctx)
	if err != nil {
		return s, err
	}
	cfgDesc, err := ci.Config(ctx)
	if err != nil {
		return s, err
	}
	cfg, err := readConfig(ctx, c.ContentStore(), cfgDesc)
	if err != nil {
		return s, err
	}
	s.Size, s.Config = size, cfgDesc.Digest.String()
	if cfg.Created != nil {
		s.Created = *cfg.Created
	}
	if b, err := json.Marshal(s); err == nil {
		cache.put(ctx, key, b)
	}
	return s, nil
}

func readConfig(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (*dockerspec.DockerOCIImage, error) {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return nil, err
	}
	var cfg dockerspec.DockerOCIImage // the OCI config and docker's HEALTHCHECK, SHELL, ONBUILD
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("image config %s: %w", desc.Digest, err)
	}
	return &cfg, nil
}
