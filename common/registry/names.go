package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// IsDangling says whether an image name is lepton's name for an image
// without a tag: REPOSITORY@sha256:... (what a build without -t, a load of
// an untagged image or a tag moved elsewhere leaves).
func IsDangling(name string) bool { return strings.Contains(name, "@sha256:") }

// SplitName splits an image name into its repository and tag as docker
// shows them: docker.io/library/alpine:3 is alpine and 3, and a name
// known by digest alone has the tag <none>.
func SplitName(name string) (repo, tag string) {
	repo, tag = name, "<none>"
	if i := strings.LastIndex(name, "@"); i >= 0 {
		repo = name[:i]
	} else if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	repo = strings.TrimPrefix(repo, "docker.io/library/")
	repo = strings.TrimPrefix(repo, "docker.io/")
	return repo, tag
}

// WriteJSONBlob stores v, as JSON of media type mt, in the content store
// with labels (a config's or manifest's gc references), and returns its
// descriptor. ref names the ingestion, made unique by the digest.
func WriteJSONBlob(ctx context.Context, cs content.Store, ref, mt string, v any, labels map[string]string) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	return desc, content.WriteBlob(ctx, cs, ref+"-"+desc.Digest.Encoded(), bytes.NewReader(b), desc, content.WithLabels(labels))
}
