package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/registry"
)

type importCmd struct {
	cli.Command
	Changes  []string `short:"c" long:"change" value-name:"<INSTRUCTION>" description:"Set CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL or EXPOSE, as in a Dockerfile"`
	Message  string   `short:"m" long:"message" value-name:"<TEXT>" description:"Comment for the image's history"`
	Platform string   `long:"platform" value-name:"<OS/ARCH>" description:"Platform to record (default: this machine's)"`
	Args     struct {
		File string `positional-arg-name:"<FILE>" required:"yes" description:"Root file system tarball (plain or compressed), or - for standard input"`
		Name string `positional-arg-name:"<NAME>" required:"yes" description:"Name for the new image, REPOSITORY[:TAG]"`
	} `positional-args:"yes"`
}

// run makes a one-layer image from a root file system tarball. The layer
// is stored uncompressed, so its digest is its diff ID and nothing is
// computed twice.
func (im *importCmd) run(ctx context.Context, a *app) error {
	name, err := registry.Normalize(im.Args.Name)
	if err != nil {
		return err
	}
	var cfg dockerspec.DockerOCIImageConfig
	cfg.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := containers.ApplyChanges(&cfg, im.Changes); err != nil {
		return cli.Usagef("--change: %v", err) // the same instructions as commit's
	}
	osName, arch := runtime.GOOS, runtime.GOARCH
	if im.Platform != "" {
		o, ar, ok := strings.Cut(im.Platform, "/")
		if !ok || o == "" || ar == "" {
			return cli.Usagef("bad --platform %q: want OS/ARCH", im.Platform)
		}
		osName, arch = o, ar
	}
	var in io.Reader = a.env.Stdin
	if im.Args.File != "-" {
		f, err := os.Open(im.Args.File)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	plain, err := compression.DecompressStream(in)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("import: %v", err))
	}
	defer plain.Close()
	// The layer goes to a temporary file first: its digest must be known
	// before the content store takes it.
	tmp, err := os.CreateTemp("", "lepton-import-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), plain)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("import: read the tarball: %v", err))
	}
	if err := checkTar(tmp); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, done, err := leases.With(ctx, c, "import", nil)
	if err != nil {
		return err
	}
	defer done(context.WithoutCancel(ctx))
	cs := c.ContentStore()
	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.NewDigest(digest.SHA256, h), Size: size}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := content.WriteBlob(ctx, cs, "import-"+layer.Digest.Encoded(), tmp, layer); err != nil {
		return err
	}
	now := time.Now().UTC()
	ic := dockerspec.DockerOCIImage{Image: ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{OS: osName, Architecture: arch},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
		History:  []ocispec.History{{Created: &now, CreatedBy: "lepton image import", Comment: im.Message}},
	}, Config: cfg}
	cfgDesc, err := registry.WriteJSONBlob(ctx, cs, "import", ocispec.MediaTypeImageConfig, ic, nil)
	if err != nil {
		return err
	}
	manifest := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{layer}}
	mDesc, err := registry.WriteJSONBlob(ctx, cs, "import", ocispec.MediaTypeImageManifest, manifest, map[string]string{
		"containerd.io/gc.ref.content.config": cfgDesc.Digest.String(),
		"containerd.io/gc.ref.content.l.0":    layer.Digest.String(),
	})
	if err != nil {
		return err
	}
	// Unpacked before it is named, so a failure leaves an existing image
	// of that name as it was.
	img := images.Image{Name: name, Target: mDesc, CreatedAt: now}
	if err := containerd.NewImage(c, img).Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
		return fmt.Errorf("import: unpack: %w", err)
	}
	if err := nameImage(ctx, c, img); err != nil {
		return err
	}
	a.remember(ctx, c, img)
	fmt.Fprintln(a.env.Stdout, cfgDesc.Digest)
	return nil
}

// checkTar refuses what is not a tar archive before anything is stored.
func checkTar(f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	buf := make([]byte, 512)
	if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf[257:262], []byte("ustar")) {
		return errdefs.ErrInvalidArgument.WithMessage("import: not a tar archive (plain, gzip, zstd or bzip2)")
	}
	return nil
}
