//go:build !windows

package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	cfs "github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/leases"
	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/common/registry"
)

// CommitPrefix names an image committed without a name:
// CommitPrefix@<manifest digest>, lepton's way of keeping an untagged
// image (as an untagged build's), which image ls shows as <none> and
// image prune removes.
const CommitPrefix = "lepton-commit"

// CommitOptions says how Commit makes its image.
type CommitOptions struct {
	// Ref is the new image's name, REPOSITORY[:TAG], normalised as pull
	// and tag do (busybox is docker.io/library/busybox:latest); "" leaves
	// the image untagged.
	Ref string
	// Changes are Dockerfile instructions applied to the configuration
	// after the container's own (see ApplyChanges).
	Changes []string
	Message string // the comment of the new history entry
	Author  string
	// Pause freezes a running container while its file system is read,
	// so the layer is one moment of it (docker's default). It is thawed
	// as soon as the layer is written, whatever happens; after a SIGKILL
	// of the commit, Check finds it (LabelPausedBy) and thaws it.
	Pause bool
}

// Commit makes an image of container id: the image it was made from,
// one more layer holding the container's changes (exactly what Diff
// lists), and a configuration that is the image's with the container's
// own settings over it (command, entrypoint, environment, working
// directory, user, labels, exposed ports, anonymous volumes, stop signal,
// healthcheck) and then opts.Changes. The image is unpacked into the
// container's snapshotter, so a container can be made of it at once, and
// named last: a failure leaves an existing image of that name as it was.
// Everything is written under a lease naming this process, so a commit
// killed part-way leaves only content that system check and image prune
// find. The container may be running or stopped.
func (d *Containers) Commit(ctx context.Context, id string, o CommitOptions) (images.Image, error) {
	name := ""
	if o.Ref != "" {
		var err error
		if name, err = commitName(o.Ref); err != nil {
			return images.Image{}, err
		}
	}
	if err := CheckChanges(o.Changes); err != nil {
		return images.Image{}, err
	}
	c := d.client
	info, err := c.ContainerService().Get(ctx, id)
	if err != nil {
		return images.Image{}, err
	}
	if info.SnapshotKey == "" {
		return images.Image{}, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has no file system of its own (no snapshot) to commit", info.ID))
	}
	ctx, done, err := leases.With(ctx, c, "commit", nil)
	if err != nil {
		return images.Image{}, err
	}
	defer done(context.WithoutCancel(ctx))
	cfg := ConfigOf(info)
	manifest, ic, err := d.commitBase(ctx, info, cfg)
	if err != nil {
		return images.Image{}, err
	}
	commitConfig(&ic.Config, cfg)
	if err := ApplyChanges(&ic.Config, o.Changes); err != nil {
		return images.Image{}, err
	}
	cs := c.ContentStore()
	layer, diffID, err := d.commitLayer(ctx, info.ID, o.Pause)
	if err != nil {
		return images.Image{}, err
	}
	crash.Point("commit-layer")
	now := time.Now().UTC()
	ic.Created = &now
	ic.Author = o.Author
	ic.RootFS.Type = "layers"
	ic.RootFS.DiffIDs = append(ic.RootFS.DiffIDs, diffID)
	ic.History = append(ic.History, ocispec.History{Created: &now, Author: o.Author, CreatedBy: info.Labels[LabelCommand], Comment: o.Message})
	cfgDesc, err := registry.WriteJSONBlob(ctx, cs, "lepton-commit", ocispec.MediaTypeImageConfig, ic, nil)
	if err != nil {
		return images.Image{}, fmt.Errorf("write the image config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    append(slices.Clone(manifest.Layers), layer),
	}
	refs := map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String()}
	for i, l := range m.Layers {
		refs["containerd.io/gc.ref.content.l."+strconv.Itoa(i)] = l.Digest.String()
	}
	mDesc, err := registry.WriteJSONBlob(ctx, cs, "lepton-commit", ocispec.MediaTypeImageManifest, m, refs)
	if err != nil {
		return images.Image{}, fmt.Errorf("write the image manifest: %w", err)
	}
	if name == "" {
		name = CommitPrefix + "@" + mDesc.Digest.String()
	}
	img := images.Image{Name: name, Target: mDesc}
	if err := containerd.NewImage(c, img).Unpack(ctx, info.Snapshotter); err != nil {
		return images.Image{}, fmt.Errorf("unpack the new image: %w", err)
	}
	crash.Point("commit-unpacked")
	is := c.ImageService()
	if _, err := is.Create(ctx, img); errdefs.IsAlreadyExists(err) {
		if img, err = is.Update(ctx, img, "target"); err != nil {
			return images.Image{}, fmt.Errorf("name image %s: %w", name, err)
		}
	} else if err != nil {
		return images.Image{}, fmt.Errorf("name image %s: %w", name, err)
	}
	d.publish(ctx, info, "commit", map[string]string{"comment": o.Message, "imageName": img.Name})
	return img, nil
}

// commitName is ref normalised, refused if it names a digest: a commit
// makes a new image, whose digest nobody can know beforehand.
func commitName(ref string) (string, error) {
	name, err := registry.Normalize(ref)
	if err != nil {
		return "", err
	}
	if strings.Contains(name, "@") {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid image name %q: give REPOSITORY[:TAG], without a digest", ref))
	}
	return name, nil
}

// commitBase finds the image container info was made from: the one it
// names, if that still has the layers the container's snapshot stands
// on, or else any image that has them (the name may have moved to a newer
// pull since). It returns the image's manifest and configuration.
func (d *Containers) commitBase(ctx context.Context, info containers.Container, cfg *Config) (ocispec.Manifest, *dockerspec.DockerOCIImage, error) {
	st, err := d.client.SnapshotService(info.Snapshotter).Stat(ctx, info.SnapshotKey)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return ocispec.Manifest{}, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has lost its file system: snapshot %s is gone", info.ID, info.SnapshotKey))
		}
		return ocispec.Manifest{}, nil, err
	}
	platform := platforms.Default()
	if cfg.Platform != "" {
		if p, err := platforms.Parse(cfg.Platform); err == nil {
			platform = platforms.Only(p)
		}
	}
	cs := d.client.ContentStore()
	try := func(rec images.Image) (ocispec.Manifest, *dockerspec.DockerOCIImage, bool) {
		m, err := images.Manifest(ctx, cs, rec.Target, platform)
		if err != nil {
			return m, nil, false
		}
		b, err := content.ReadBlob(ctx, cs, m.Config)
		if err != nil {
			return m, nil, false
		}
		var ic dockerspec.DockerOCIImage
		if json.Unmarshal(b, &ic) != nil || identity.ChainID(ic.RootFS.DiffIDs).String() != st.Parent {
			return m, nil, false
		}
		return m, &ic, true
	}
	is := d.client.ImageService()
	if rec, err := is.Get(ctx, info.Image); err == nil {
		if m, ic, ok := try(rec); ok {
			return m, ic, nil
		}
	}
	all, err := is.List(ctx)
	if err != nil {
		return ocispec.Manifest{}, nil, err
	}
	for _, rec := range all {
		if m, ic, ok := try(rec); ok {
			return m, ic, nil
		}
	}
	return ocispec.Manifest{}, nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("the image container %s was made from (%s) is gone: commit needs its layers and configuration", info.ID, info.Image))
}

// commitConfig lays the container's own settings over its image's
// configuration, so the new image runs as the container did.
func commitConfig(ic *dockerspec.DockerOCIImageConfig, cfg *Config) {
	if cfg.Entrypoint != nil { // given, perhaps empty to clear it
		ic.Entrypoint = nil
		if len(cfg.Entrypoint) > 0 {
			ic.Entrypoint = slices.Clone(cfg.Entrypoint)
			ic.Cmd = nil // as the container ran: a new entrypoint drops the image's CMD
		}
	}
	if len(cfg.Cmd) > 0 {
		ic.Cmd = slices.Clone(cfg.Cmd)
	}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		ic.Env = setEnv(ic.Env, k, v)
	}
	if cfg.WorkingDir != "" {
		ic.WorkingDir = cfg.WorkingDir
	}
	if cfg.User != "" {
		ic.User = cfg.User
	}
	for k, v := range cfg.Labels {
		// A container lepton did not make has only containerd's labels.
		if strings.HasPrefix(k, "lepton/") || strings.HasPrefix(k, "containerd.io/") || strings.HasPrefix(k, "io.containerd.") {
			continue
		}
		if ic.Labels == nil {
			ic.Labels = map[string]string{}
		}
		ic.Labels[k] = v
	}
	ports := slices.Collect(maps.Keys(cfg.ExposedPorts))
	ports = append(ports, slices.Collect(maps.Keys(cfg.HostConfig.PortBindings))...)
	for _, p := range ports {
		if ic.ExposedPorts == nil {
			ic.ExposedPorts = map[string]struct{}{}
		}
		ic.ExposedPorts[p] = struct{}{}
	}
	for _, b := range cfg.HostConfig.Binds {
		if !strings.Contains(b, ":") && path.IsAbs(b) { // -v /data: an anonymous volume
			if ic.Volumes == nil {
				ic.Volumes = map[string]struct{}{}
			}
			ic.Volumes[path.Clean(b)] = struct{}{}
		}
	}
	if cfg.StopSignal != "" {
		ic.StopSignal = cfg.StopSignal
	}
	if cfg.Healthcheck != nil {
		ic.Healthcheck = cfg.Healthcheck
	}
}

// commitLayer writes container id's changes to the content store as a
// gzip layer, pausing the container meanwhile if pause says so and it
// runs, and returns the layer and its diff ID.
func (d *Containers) commitLayer(ctx context.Context, id string, pause bool) (layer ocispec.Descriptor, diffID digest.Digest, err error) {
	if pause {
		resume, err := d.pause(ctx, id)
		if err != nil {
			return layer, "", err
		}
		defer func() {
			if rerr := resume(); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	err = d.changes(ctx, id, func(root string, changes []fileChange) error {
		layer, diffID, err = writeLayer(ctx, d.client.ContentStore(), root, changes)
		return err
	})
	if err != nil {
		return layer, "", fmt.Errorf("write the layer of container %s: %w", id, err)
	}
	return layer, diffID, nil
}

// LabelPausedBy marks a container that a commit has paused, with the
// commit's "PID:START" (see proc.Start): written before the pause and
// removed after the resume, so that if that lepton is killed in between,
// Check finds the container and thaws it.
const LabelPausedBy = "lepton/paused-by"

// pause freezes container id if it runs, and returns what thaws it.
func (d *Containers) pause(ctx context.Context, id string) (func() error, error) {
	none := func() error { return nil }
	ctr, err := d.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return none, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := task.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.Status != containerd.Running {
		return none, nil // stopped, or paused by someone else, who will thaw it
	}
	pid := os.Getpid()
	if err := d.setPausedBy(ctx, id, fmt.Sprintf("%d:%d", pid, proc.Start(pid))); err != nil {
		return nil, err
	}
	if err := task.Pause(ctx); err != nil {
		d.setPausedBy(context.WithoutCancel(ctx), id, "")
		return nil, fmt.Errorf("pause container %s: %w", id, err)
	}
	crash.Point("commit-paused")
	return func() error {
		ctx := context.WithoutCancel(ctx)
		err := task.Resume(ctx)
		if err != nil {
			// A stop, rm -f or unpause meanwhile has thawed or ended the
			// task: nothing is left paused, and the layer is whole.
			if st, serr := task.Status(ctx); errdefs.IsNotFound(serr) || serr == nil && st.Status != containerd.Paused {
				err = nil
			}
		}
		if merr := d.setPausedBy(ctx, id, ""); err == nil && !errdefs.IsNotFound(merr) {
			err = merr
		} else if err != nil {
			err = fmt.Errorf("container %s is still paused (lepton unpause thaws it): %w", id, err)
		}
		return err
	}, nil
}

// setPausedBy sets LabelPausedBy on container id, or removes it for "".
func (d *Containers) setPausedBy(ctx context.Context, id, by string) error {
	rec := containers.Container{ID: id, Labels: map[string]string{}}
	if by != "" {
		rec.Labels[LabelPausedBy] = by
	}
	if _, err := d.client.ContainerService().Update(ctx, rec, "labels."+LabelPausedBy); err != nil {
		return fmt.Errorf("mark container %s as paused by this commit: %w", id, err)
	}
	return nil
}

// checkPaused reports the containers a killed commit left paused (or
// marked as such); repair thaws them and clears the mark.
func checkPaused(ctx context.Context, d *Containers, r *check.Report, all []containers.Container) {
	for _, info := range all {
		by, ok := info.Labels[LabelPausedBy]
		if !ok {
			continue
		}
		spid, sstart, _ := strings.Cut(by, ":")
		pid, _ := strconv.Atoi(spid)
		start, _ := strconv.ParseUint(sstart, 10, 64)
		if pid > 0 && proc.Alive(pid, start) {
			continue
		}
		id := info.ID
		what := "a mark left by a lepton commit that was killed; repair clears it"
		if task := pausedTask(ctx, d.client, id); task != nil {
			what = "paused by a lepton commit that was killed; repair resumes it"
		}
		r.Add("unfinished-commit", id, what, func() error {
			if task := pausedTask(ctx, d.client, id); task != nil {
				if err := task.Resume(ctx); err != nil && !errdefs.IsNotFound(err) {
					return err
				}
			}
			return d.setPausedBy(ctx, id, "")
		})
	}
}

// pausedTask is container id's task if it is paused, else nil.
func pausedTask(ctx context.Context, c *containerd.Client, id string) containerd.Task {
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return nil
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil || st != containerd.Paused {
		return nil
	}
	return task
}

// writeLayer writes changes, read from the tree at root, as a gzip tar
// layer: whiteouts for deletions, the file itself for the rest.
func writeLayer(ctx context.Context, cs content.Store, root string, changes []fileChange) (ocispec.Descriptor, digest.Digest, error) {
	ref := "lepton-commit-" + NewID()
	w, err := content.OpenWriter(ctx, cs, content.WithRef(ref))
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer w.Close()
	counted := &countingWriter{w: w}
	zw, err := compression.CompressStream(counted, compression.Gzip)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	uncompressed := digest.SHA256.Digester()
	tw := archive.NewChangeWriter(io.MultiWriter(zw, uncompressed.Hash()), root)
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return ocispec.Descriptor{}, "", err
		}
		if c.Kind == Deleted {
			err = tw.HandleChange(cfs.ChangeKindDelete, c.Path, nil, nil)
		} else {
			var fi os.FileInfo
			if fi, err = os.Lstat(filepath.Join(root, c.Path)); err == nil {
				kind := cfs.ChangeKind(cfs.ChangeKindModify)
				if c.Kind == Added {
					kind = cfs.ChangeKindAdd
				}
				err = tw.HandleChange(kind, c.Path, fi, nil)
			}
		}
		if err != nil {
			return ocispec.Descriptor{}, "", fmt.Errorf("%s: %w", c.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if err := zw.Close(); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	diffID := uncompressed.Digest()
	labels := map[string]string{"containerd.io/uncompressed": diffID.String()}
	if err := w.Commit(ctx, counted.n, "", content.WithLabels(labels)); err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, "", err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: w.Digest(), Size: counted.n}
	return desc, diffID, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
