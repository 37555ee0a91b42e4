package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	containerdleases "github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/leases"
)

type loadCmd struct {
	cli.Command
	Input string `short:"i" long:"input" value-name:"<FILE>" description:"Read from a file (default: standard input)"`
	Quiet bool   `short:"q" long:"quiet" description:"Print nothing but errors"`
}

// run imports docker and OCI archives, all or nothing: every blob of every
// image the archive names is checked (present, of its digest and size, the
// config a valid image config) and every image unpacked before the first
// name is written, so a corrupt, truncated or incomplete archive names no
// image and leaves the images already there as they were.
func (l *loadCmd) run(ctx context.Context, a *app) error {
	var r io.Reader = a.env.Stdin
	if l.Input != "" {
		f, err := os.Open(l.Input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	} else if cli.IsTerminal(a.env.Stdin) {
		return cli.Usagef("load reads an archive from standard input, which is a terminal: use -i FILE or redirect it")
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// Until the images are named, only this lease keeps their content from
	// the garbage collector.
	ctx, done, err := leases.With(ctx, c, "load", nil)
	if err != nil {
		return err
	}
	defer done(context.WithoutCancel(ctx))
	imgs, err := loadArchive(ctx, c, r, platforms.DefaultStrict())
	if err != nil {
		return err
	}
	crash.Point("load-unpacked")
	for _, img := range imgs {
		if err := nameImage(ctx, c, img); err != nil {
			return fmt.Errorf("load: name %s: %w", img.Name, err)
		}
		a.remember(ctx, c, img)
		if !l.Quiet {
			fmt.Fprintf(a.env.Stdout, "Loaded image: %s\n", img.Name)
		}
	}
	return nil
}

// loadArchive stores the archive's content, checks and unpacks the images
// it names for platform, and returns them, not yet named. ctx must carry a
// lease, which keeps the content until the caller names the images.
func loadArchive(ctx context.Context, c *containerd.Client, r io.Reader, platform platforms.MatchComparer) ([]images.Image, error) {
	cs := c.ContentStore()
	guard := &archiveGuard{corrupt: map[digest.Digest]bool{}}
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := guard.copy(pw, r)
		pw.CloseWithError(err)
		copied <- err
	}()
	index, ierr := archive.ImportIndex(ctx, cs, pr)
	pr.CloseWithError(errImportDone)
	var cerr error
	select {
	case cerr = <-copied:
	case <-ctx.Done(): // the copy may be waiting on a silent stdin
		return nil, ctx.Err()
	}
	var refused *refusedEntry
	switch {
	case errors.As(cerr, &refused):
		return nil, errdefs.ErrInvalidArgument.WithMessage("load: not a usable image archive: " + refused.Error())
	case ierr != nil:
		return nil, errdefs.ErrInvalidArgument.WithMessage("load: not a usable image archive: " + oneLine(ierr))
	case cerr != nil && !errors.Is(cerr, errImportDone):
		return nil, errdefs.ErrInvalidArgument.WithMessage("load: not a usable image archive: " + oneLine(cerr))
	}

	lease, ok := containerdleases.FromContext(ctx)
	if !ok {
		return nil, errors.New("load: no lease to keep the archive's content")
	}
	v := &verifier{cs: cs, lm: c.LeasesService(), lease: containerdleases.Lease{ID: lease}, platform: platform, guard: guard, done: map[digest.Digest]bool{}}
	top, err := readIndex(ctx, cs, index)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("load: not a usable image archive: " + err.Error())
	}
	var out []images.Image
	var others []string
	for _, m := range top.Manifests {
		name := m.Annotations[images.AnnotationImageName]
		if name == "" {
			name = m.Annotations[ocispec.AnnotationRefName]
		}
		if name == "" {
			continue // containerd's import names none either; its blobs are still checked below
		}
		if m.Platform != nil && !platform.Match(*m.Platform) {
			others = append(others, platforms.Format(*m.Platform))
			continue
		}
		if err := v.walk(ctx, name, m); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage("load: " + err.Error())
		}
		out = append(out, images.Image{Name: name, Target: m})
	}
	// A corrupt blob no image uses still means the archive is damaged;
	// whatever else it holds is not to be trusted either.
	if len(guard.corrupt) > 0 {
		bad := slices.Sorted(maps.Keys(guard.corrupt))
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("load: blob %s in the archive is corrupt: its content does not match its digest", bad[0]))
	}
	if len(out) == 0 {
		if len(others) > 0 {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("load: the archive holds no image for %s, only for %s", platforms.Format(platforms.DefaultSpec()), strings.Join(others, ", ")))
		}
		return nil, errdefs.ErrInvalidArgument.WithMessage("load: the archive holds no named image")
	}
	unpacked := map[digest.Digest]bool{}
	for _, img := range out {
		if unpacked[img.Target.Digest] {
			continue
		}
		if err := containerd.NewImage(c, img).Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
			return nil, fmt.Errorf("load: unpack %s: %s", img.Name, oneLine(err))
		}
		unpacked[img.Target.Digest] = true
	}
	return out, nil
}

// nameImage points img.Name at img.Target, keeping the labels of an image
// that already has the name.
func nameImage(ctx context.Context, c *containerd.Client, img images.Image) error {
	is := c.ImageService()
	_, err := is.Create(ctx, img)
	if errdefs.IsAlreadyExists(err) {
		_, err = is.Update(ctx, img, "target")
	}
	return err
}

// errImportDone ends the archive copy once the importer has stopped
// reading, whether it finished or failed.
var errImportDone = errors.New("import finished")

// refusedEntry is a tar entry lepton will not take.
type refusedEntry struct{ name, why string }

func (e *refusedEntry) Error() string { return fmt.Sprintf("entry %q %s", e.name, e.why) }

// archiveGuard stands between the archive and containerd's importer. The
// importer never writes a file by an entry's name, but an entry that
// climbs out of the archive (../x, /etc/x) says the archive was made to
// attack whoever unpacks it, so none of it is taken. It also hashes every
// entry whose name is a digest (blobs/sha256/<hex>, docker's <hex>.json):
// the importer stores a blob under the digest of its bytes, so a corrupt
// copy would only show up as a missing blob, and it would not show up at
// all if the store already held the right one.
type archiveGuard struct {
	corrupt map[digest.Digest]bool // digests entry names claim that their bytes do not have
}

// copy re-writes the archive from r to w entry by entry, having checked
// each header before the importer sees it.
func (g *archiveGuard) copy(w io.Writer, r io.Reader) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		if err := checkEntry(hdr); err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		claim := claimedDigest(hdr)
		if claim == "" {
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
			continue
		}
		dg := claim.Algorithm().Digester()
		if _, err := io.Copy(io.MultiWriter(tw, dg.Hash()), tr); err != nil {
			return err
		}
		if dg.Digest() != claim {
			g.corrupt[claim] = true
		}
	}
}

// checkEntry refuses names and link targets that leave the archive.
func checkEntry(hdr *tar.Header) error {
	if escapes(hdr.Name) {
		return &refusedEntry{hdr.Name, "points outside the archive"}
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		target := hdr.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(path.Clean(hdr.Name)), target)
		}
		if escapes(target) {
			return &refusedEntry{hdr.Name, "links outside the archive"}
		}
	case tar.TypeLink:
		if escapes(hdr.Linkname) {
			return &refusedEntry{hdr.Name, "links outside the archive"}
		}
	}
	return nil
}

func escapes(name string) bool {
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) {
		return true
	}
	c := path.Clean(name)
	return c == ".." || strings.HasPrefix(c, "../")
}

// claimedDigest is the digest a regular entry's name says its bytes have:
// OCI's blobs/<algorithm>/<hex> and docker's top-level <hex>.json config.
func claimedDigest(hdr *tar.Header) digest.Digest {
	if hdr.Typeflag != tar.TypeReg {
		return ""
	}
	name := path.Clean(hdr.Name)
	var d digest.Digest
	if rest, ok := strings.CutPrefix(name, "blobs/"); ok {
		if alg, hex, ok := strings.Cut(rest, "/"); ok && !strings.Contains(hex, "/") {
			d = digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
		}
	} else if hex, ok := strings.CutSuffix(name, ".json"); ok && len(hex) == 64 && !strings.Contains(hex, "/") {
		d = digest.NewDigestFromEncoded(digest.SHA256, hex)
	}
	if d == "" || d.Validate() != nil {
		return ""
	}
	return d
}

// verifier checks an image's tree in the content store after the import,
// before it is named.
type verifier struct {
	cs       content.Store
	lm       containerdleases.Manager
	lease    containerdleases.Lease
	platform platforms.MatchComparer
	guard    *archiveGuard
	done     map[digest.Digest]bool // blobs already checked
}

// walk checks desc, the target of image name, and everything under it
// that its platform needs, and labels each parent with its children so
// the content outlives the load's lease once the image is named.
func (v *verifier) walk(ctx context.Context, name string, desc ocispec.Descriptor) error {
	if v.done[desc.Digest] {
		return nil
	}
	switch {
	case images.IsIndexType(desc.MediaType):
		if err := v.blob(ctx, "index", name, desc); err != nil {
			return err
		}
		idx, err := readIndex(ctx, v.cs, desc)
		if err != nil {
			return fmt.Errorf("%s of %s", err, name)
		}
		var keep []ocispec.Descriptor
		for _, m := range idx.Manifests {
			if m.Platform == nil || v.platform.Match(*m.Platform) {
				keep = append(keep, m)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("%s has no image for %s", name, platforms.Format(platforms.DefaultSpec()))
		}
		for _, m := range keep {
			if err := v.walk(ctx, name, m); err != nil {
				return err
			}
		}
		return v.label(ctx, desc, keep)
	case images.IsManifestType(desc.MediaType):
		if desc.MediaType == images.MediaTypeDockerSchema1Manifest {
			return fmt.Errorf("%s is a docker schema 1 image, which lepton does not load", name)
		}
		if err := v.blob(ctx, "manifest", name, desc); err != nil {
			return err
		}
		var m ocispec.Manifest
		if err := readJSON(ctx, v.cs, desc, &m); err != nil {
			return fmt.Errorf("manifest %s of %s is not valid JSON: %v", desc.Digest, name, err)
		}
		if err := v.blob(ctx, "config", name, m.Config); err != nil {
			return err
		}
		var cfg ocispec.Image
		if err := readJSON(ctx, v.cs, m.Config, &cfg); err != nil {
			return fmt.Errorf("config %s of %s is not a valid image config: %v", m.Config.Digest, name, err)
		}
		if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
			return fmt.Errorf("config %s of %s lists %d layers, its manifest %d", m.Config.Digest, name, len(cfg.RootFS.DiffIDs), len(m.Layers))
		}
		for _, l := range m.Layers {
			if err := v.blob(ctx, "layer", name, l); err != nil {
				return err
			}
		}
		return v.label(ctx, desc, append([]ocispec.Descriptor{m.Config}, m.Layers...))
	}
	return fmt.Errorf("%s is a %q, not an image", name, desc.MediaType)
}

// blob checks that the store holds desc whole, from an uncorrupted copy,
// and adds it to the load's lease: the store may have held it before,
// pinned by nothing that will last until the image is named.
func (v *verifier) blob(ctx context.Context, kind, name string, desc ocispec.Descriptor) error {
	if v.done[desc.Digest] {
		return nil
	}
	if v.guard.corrupt[desc.Digest] {
		return fmt.Errorf("%s %s of %s is corrupt: its content does not match its digest", kind, desc.Digest, name)
	}
	info, err := v.cs.Info(ctx, desc.Digest)
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("%s %s of %s is missing from the archive", kind, desc.Digest, name)
	}
	if err != nil {
		return err
	}
	if info.Size != desc.Size {
		return fmt.Errorf("%s %s of %s has %d bytes, not the %d its parent says", kind, desc.Digest, name, info.Size, desc.Size)
	}
	if err := v.lm.AddResource(ctx, v.lease, containerdleases.Resource{ID: desc.Digest.String(), Type: "content"}); err != nil {
		return err
	}
	v.done[desc.Digest] = true
	return nil
}

// label records parent's children in its garbage collection labels, as
// containerd's own import does.
func (v *verifier) label(ctx context.Context, parent ocispec.Descriptor, children []ocispec.Descriptor) error {
	_, err := images.SetChildrenLabels(v.cs, func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		return children, nil
	})(ctx, parent)
	return err
}

func readIndex(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (*ocispec.Index, error) {
	var idx ocispec.Index
	if err := readJSON(ctx, cs, desc, &idx); err != nil {
		return nil, fmt.Errorf("index %s is not valid JSON: %v", desc.Digest, err)
	}
	return &idx, nil
}

func readJSON(ctx context.Context, cs content.Store, desc ocispec.Descriptor, v any) error {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// oneLine keeps an error from containerd, which may join several with
// newlines, to lepton's one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
