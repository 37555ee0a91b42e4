//go:build !windows

package system

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/platforms"
	units "github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/volumes"
)

type dfCmd struct {
	cli.Command
	Verbose bool   `short:"v" long:"verbose" description:"List every image, container, volume and build cache record"`
	Format  string `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line) or a Go template"`
}

// dfRow is one line of the summary, with docker's field names.
type dfRow struct {
	Type        string
	TotalCount  string
	Active      string
	Size        string
	Reclaimable string
}

type dfImage struct {
	Repository, Tag, ID, CreatedSince, Size, SharedSize, UniqueSize, Containers string
}

type dfContainer struct {
	ID, Image, Command, LocalVolumes, Size, CreatedSince, Status, Names string
}

type dfVolume struct {
	Name, Links, Size string
}

type dfCache struct {
	ID, CacheType, Size, CreatedSince, LastUsedSince, UsageCount, Shared string
}

// usage is what df measured, in bytes.
type usage struct {
	images     []dfImage
	imageCount int
	imageInUse int
	imageSize  int64
	imageFree  int64

	containers     []dfContainer
	containerLive  int
	containerSize  int64
	containerFree  int64
	volumes        []dfVolume
	volumeInUse    int
	volumeSize     int64
	volumeFree     int64
	cache          []build.CacheRecord
	cacheInUse     int
	cacheSize      int64
	cacheFree      int64
	containerCount int
}

// run measures what lepton's objects hold on disk. Images count their
// blobs in containerd's content store, each blob once however many images
// share it; a container counts its writable layer (the snapshotter's
// usage of its active snapshot); a volume its data directory; the build
// cache what buildkitd reports. Reclaimable is what `system prune -a
// --volumes` could free: images and volumes no container uses, stopped
// containers, build cache not in use.
func (c *dfCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	cs, err := g.Containers(ctx)
	if err != nil {
		return err
	}
	client := cs.Client()
	defer client.Close()
	var u usage
	if err := u.measureImages(ctx, client); err != nil {
		return err
	}
	if err := u.measureContainers(ctx, client); err != nil {
		return err
	}
	if err := u.measureVolumes(ctx, client, cs.Volumes()); err != nil {
		return err
	}
	bld := build.New(client, g.BuildDaemon(env), g.Registry())
	defer bld.Close()
	cache, err := bld.DiskUsage(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", env.Name, err)
	}
	u.measureCache(cache)
	if c.Verbose {
		return u.printVerbose(env.Stdout, c.Format)
	}
	return cli.Print(env.Stdout, c.Format, cli.Table{
		Headers: []string{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"},
		Row:     "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
	}, u.rows())
}

func (u *usage) rows() []dfRow {
	row := func(typ string, total, active int, size, free int64) dfRow {
		r := dfRow{Type: typ, TotalCount: strconv.Itoa(total), Active: strconv.Itoa(active), Size: cli.HumanSize(size), Reclaimable: cli.HumanSize(free)}
		if size > 0 {
			r.Reclaimable += fmt.Sprintf(" (%d%%)", free*100/size)
		}
		return r
	}
	return []dfRow{
		row("Images", u.imageCount, u.imageInUse, u.imageSize, u.imageFree),
		row("Containers", u.containerCount, u.containerLive, u.containerSize, u.containerFree),
		row("Local Volumes", len(u.volumes), u.volumeInUse, u.volumeSize, u.volumeFree),
		row("Build Cache", len(u.cache), u.cacheInUse, u.cacheSize, u.cacheFree),
	}
}

// measureImages sizes images by their blobs for this machine's platform:
// the manifest (and index) and config, and the layers.
func (u *usage) measureImages(ctx context.Context, c *containerd.Client) error {
	all, err := c.ImageService().List(ctx)
	if err != nil {
		return err
	}
	users, err := containers.ImageUsers(ctx, c)
	if err != nil {
		return err
	}
	cs := c.ContentStore()
	blobs := map[string]map[digest.Digest]int64{} // image target → its blobs
	holders := map[digest.Digest]int{}            // blob → how many targets hold it
	used := map[string]int{}                      // image target → containers
	byTarget := map[string][]images.Image{}
	for _, img := range all {
		t := img.Target.Digest.String()
		used[t] += len(users[img.Name])
		byTarget[t] = append(byTarget[t], img)
		if _, ok := blobs[t]; ok {
			continue
		}
		set := map[digest.Digest]int64{}
		handler := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			if _, err := cs.Info(ctx, desc.Digest); err != nil {
				return nil, nil // not fetched (another platform's): not on disk
			}
			set[desc.Digest] = desc.Size
			return images.Children(ctx, cs, desc)
		})
		if err := images.Walk(ctx, images.LimitManifests(images.FilterPlatforms(handler, platforms.Default()), platforms.Default(), 1), img.Target); err != nil {
			return fmt.Errorf("image %s: %w", img.Name, err)
		}
		blobs[t] = set
		for d := range set {
			holders[d]++
		}
	}
	counted := map[digest.Digest]bool{}
	freeable := map[digest.Digest]bool{}
	for t, set := range blobs {
		u.imageCount++
		if used[t] > 0 {
			u.imageInUse++
		}
		var size, shared int64
		for d, n := range set {
			size += n
			if holders[d] > 1 {
				shared += n
			}
			if !counted[d] {
				counted[d] = true
				u.imageSize += n
			}
			if used[t] == 0 {
				freeable[d] = true
			}
		}
		for _, img := range byTarget[t] {
			repo, tag := registry.SplitName(img.Name)
			u.images = append(u.images, dfImage{
				Repository: repo, Tag: tag, ID: img.Target.Digest.Encoded()[:12], CreatedSince: ago(img.CreatedAt),
				Size: cli.HumanSize(size), SharedSize: cli.HumanSize(shared), UniqueSize: cli.HumanSize(size - shared),
				Containers: strconv.Itoa(used[t]),
			})
		}
	}
	// A blob is reclaimable when no image a container uses holds it.
	for t, set := range blobs {
		if used[t] > 0 {
			for d := range set {
				delete(freeable, d)
			}
		}
	}
	for d := range freeable {
		for _, set := range blobs {
			if n, ok := set[d]; ok {
				u.imageFree += n
				break
			}
		}
	}
	sort.Slice(u.images, func(i, j int) bool {
		return u.images[i].Repository+":"+u.images[i].Tag < u.images[j].Repository+":"+u.images[j].Tag
	})
	return nil
}

func (u *usage) measureContainers(ctx context.Context, c *containerd.Client) error {
	all, err := c.ContainerService().List(ctx)
	if err != nil {
		return err
	}
	state, err := containers.TaskStatuses(ctx, c)
	if err != nil {
		return err
	}
	for _, info := range all {
		if containers.IsBuildStep(info) {
			continue
		}
		u.containerCount++
		var size int64
		if info.SnapshotKey != "" {
			if us, err := c.SnapshotService(info.Snapshotter).Usage(ctx, info.SnapshotKey); err == nil {
				size = us.Size
			}
		}
		u.containerSize += size
		st := state[info.ID]
		live := containers.Alive(st)
		status := "exited"
		switch {
		case live:
			u.containerLive++
			status = strings.ToLower(strings.TrimPrefix(st.String(), "Status_"))
		case st == tasktypes.Status_CREATED:
			status = "created"
			u.containerFree += size
		default:
			u.containerFree += size
		}
		cfg := containers.ConfigOf(info)
		vols := 0
		for k := range info.Labels {
			if strings.HasPrefix(k, volumes.UsedByLabel) {
				vols++
			}
		}
		u.containers = append(u.containers, dfContainer{
			ID: info.ID[:min(12, len(info.ID))], Image: cfg.Image, Command: strconv.Quote(strings.Join(append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...), " ")),
			LocalVolumes: strconv.Itoa(vols), Size: cli.HumanSize(size), CreatedSince: ago(info.CreatedAt),
			Status: status, Names: containers.NameOf(info),
		})
	}
	sort.Slice(u.containers, func(i, j int) bool { return u.containers[i].Names < u.containers[j].Names })
	return nil
}

func (u *usage) measureVolumes(ctx context.Context, c *containerd.Client, vs *volumes.Volumes) error {
	all, err := vs.List(ctx)
	if err != nil {
		return err
	}
	users, err := volumes.ContainerUsers(c)(ctx)
	if err != nil {
		return err
	}
	for _, v := range all {
		size := v.Size()
		u.volumeSize += size
		if n := len(users[v.Name]); n > 0 {
			u.volumeInUse++
		} else {
			u.volumeFree += size
		}
		u.volumes = append(u.volumes, dfVolume{Name: v.Name, Links: strconv.Itoa(len(users[v.Name])), Size: cli.HumanSize(size)})
	}
	return nil
}

func (u *usage) measureCache(records []build.CacheRecord) {
	u.cache = records
	for _, r := range records {
		if r.Shared {
			continue // its bytes are an image's, counted there
		}
		u.cacheSize += r.Size
		if r.InUse {
			u.cacheInUse++
		}
		if r.Reclaimable() {
			u.cacheFree += r.Size
		}
	}
}

// printVerbose is df -v: a listing of each kind. With --format json it
// is one object per image, container, volume and cache record, each
// with a "Kind" to tell them apart.
func (u *usage) printVerbose(w io.Writer, format string) error {
	if format != "" && format != "table" {
		type item struct {
			Kind string
			Item any
		}
		var items []item
		for _, x := range u.images {
			items = append(items, item{"image", x})
		}
		for _, x := range u.containers {
			items = append(items, item{"container", x})
		}
		for _, x := range u.volumes {
			items = append(items, item{"volume", x})
		}
		for _, x := range u.cacheRows() {
			items = append(items, item{"build-cache", x})
		}
		return cli.Print(w, format, cli.Table{}, items)
	}
	fmt.Fprint(w, "Images space usage:\n\n")
	if err := cli.Print(w, "", cli.Table{
		Headers: []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"},
		Row:     "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
	}, u.images); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	if err := cli.Print(w, "", cli.Table{
		Headers: []string{"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"},
		Row:     "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.CreatedSince}}\t{{.Status}}\t{{.Names}}",
	}, u.containers); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	if err := cli.Print(w, "", cli.Table{Headers: []string{"VOLUME NAME", "LINKS", "SIZE"}, Row: "{{.Name}}\t{{.Links}}\t{{.Size}}"}, u.volumes); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBuild cache usage: %s\n\n", cli.HumanSize(u.cacheSize))
	return cli.Print(w, "", cli.Table{
		Headers: []string{"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"},
		Row:     "{{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
	}, u.cacheRows())
}

func (u *usage) cacheRows() []dfCache {
	var out []dfCache
	for _, r := range u.cache {
		last := "never"
		if r.LastUsedAt != nil {
			last = ago(*r.LastUsedAt)
		}
		out = append(out, dfCache{
			ID: r.ID[:min(12, len(r.ID))], CacheType: r.Type, Size: cli.HumanSize(r.Size), CreatedSince: ago(r.CreatedAt),
			LastUsedSince: last, UsageCount: strconv.Itoa(r.UsageCount), Shared: strconv.FormatBool(r.Shared),
		})
	}
	return out
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}
