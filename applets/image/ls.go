package image

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/images"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/store"
)

type lsCmd struct {
	cli.Command
	All     bool     `short:"a" long:"all" description:"Show all images (lepton keeps no intermediate ones, so the same as without)"`
	Quiet   bool     `short:"q" long:"quiet" description:"Print image IDs only"`
	Digests bool     `long:"digests" description:"Show digests"`
	NoTrunc bool     `long:"no-trunc" description:"Do not shorten IDs"`
	Filters []string `short:"f" long:"filter" value-name:"<KEY=VALUE>" description:"Filter: reference=PATTERN, label=KEY[=VALUE], dangling=true|false, before=IMAGE, since=IMAGE"`
	Format  string   `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
	Args    struct {
		Repository string `positional-arg-name:"<REPOSITORY>" description:"Only images of this repository"`
	} `positional-args:"yes"`
}

// lsItem is one row, with docker's --format json field names.
type lsItem struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	Tag          string
	Size         string

	created time.Time
	labels  map[string]string
	name    string
}

func (l *lsCmd) run(ctx context.Context, a *app) error {
	if err := cli.CheckFormat(l.Format); err != nil {
		return err
	}
	f, err := parseFilters(l.Filters)
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// The summaries are read before the images: a summary is written only
	// after its image's record, so one read here whose target is missing
	// from the listing below belongs to an image that is gone.
	cache, _ := a.infoCache(ctx)
	var cached []store.Entry
	if cache != nil {
		if es, lerr := cache.col.List(ctx); lerr == nil {
			cached = es
			cache.preloaded = make(map[string][]byte, len(es))
			for _, e := range es {
				cache.preloaded[e.Key] = e.Data
			}
		}
	}
	if err := f.findImages(func(ref string) (time.Time, error) {
		imgs, err := find(ctx, c, ref)
		if err != nil {
			return time.Time{}, err
		}
		s, err := summarize(ctx, c, cache, imgs[0])
		return s.Created, err
	}); err != nil {
		return err
	}
	all, err := c.ImageService().List(ctx)
	if err != nil {
		return err
	}
	forgetOrphans(ctx, cache, cached, all)
	now := time.Now()
	var items []lsItem
	for _, img := range all {
		s, err := summarize(ctx, c, cache, img)
		if err != nil {
			fmt.Fprintf(a.env.Stderr, "%s: %s: %v\n", a.env.Name, img.Name, err)
			continue
		}
		repo, tag := registry.SplitName(img.Name)
		id := img.Target.Digest.String()
		if !l.NoTrunc {
			id = img.Target.Digest.Encoded()[:12]
		}
		it := lsItem{
			Containers: "N/A", CreatedAt: s.Created.Format("2006-01-02 15:04:05 -0700 MST"),
			CreatedSince: since(now, s.Created), Digest: img.Target.Digest.String(), ID: id,
			Repository: repo, Tag: tag, Size: cli.HumanSize(s.Size), created: s.Created, labels: img.Labels, name: img.Name,
		}
		if l.Args.Repository != "" && repo != l.Args.Repository && !strings.HasPrefix(img.Name, l.Args.Repository) {
			continue
		}
		if !f.match(&it, img) {
			continue
		}
		items = append(items, it)
	}
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].created.Equal(items[j].created) {
			return items[i].created.After(items[j].created)
		}
		return items[i].name < items[j].name
	})
	if l.Quiet {
		seen := map[string]bool{}
		for _, it := range items {
			if !seen[it.ID] {
				seen[it.ID] = true
				fmt.Fprintln(a.env.Stdout, it.ID)
			}
		}
		return nil
	}
	table := cli.Table{Headers: []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}, Row: "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"}
	if l.Digests {
		table = cli.Table{Headers: []string{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"}, Row: "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"}
	}
	return cli.Print(a.env.Stdout, l.Format, table, items)
}

// forgetOrphans removes the summaries no listed image has as its target:
// images removed by a lepton killed before it could forget them, or by
// another tool. Should it ever remove one still wanted (an image removed
// and made again meanwhile), that costs the next listing a few blob
// reads, nothing more: summaries are only a cache.
func forgetOrphans(ctx context.Context, cache *infoCache, cached []store.Entry, all []images.Image) {
	if cache == nil || len(cached) == 0 {
		return
	}
	live := make(map[string]bool, len(all))
	for _, img := range all {
		live[img.Target.Digest.Encoded()] = true
	}
	for _, e := range cached {
		if !live[e.Key] {
			cache.col.Delete(ctx, e.Key)
		}
	}
}

// imageFilter is ls's --filter, matched by docker's rule (see
// cli.Filters): reference=PATTERN (path.Match, against REPOSITORY:TAG,
// REPOSITORY or the full name), label=KEY[=VALUE], dangling=true|false
// (no tag), before=IMAGE and since=IMAGE (created before or after it).
type imageFilter struct {
	cli.Filters
	created map[string]time.Time // of the images before= and since= name
}

// parseFilters reads ls's --filter flags. The images before= and since=
// name are looked up later, by findImages, once containerd is reached:
// a mistake in the flags is a usage error whether or not it is.
func parseFilters(fs []string) (*imageFilter, error) {
	parsed, err := cli.ParseFilters(fs, "reference", "label", "dangling", "before", "since")
	if err != nil {
		return nil, err
	}
	if err := parsed.CheckBool("dangling"); err != nil {
		return nil, err
	}
	return &imageFilter{Filters: parsed, created: map[string]time.Time{}}, nil
}

// findImages learns, with createdOf, when the images that before= and
// since= name were created.
func (f *imageFilter) findImages(createdOf func(ref string) (time.Time, error)) error {
	for _, k := range []string{"before", "since"} {
		for _, ref := range f.Filters[k] {
			t, err := createdOf(ref)
			if err != nil {
				return fmt.Errorf("filter %s=%s: %w", k, ref, err)
			}
			f.created[ref] = t
		}
	}
	return nil
}

func (f *imageFilter) match(it *lsItem, img images.Image) bool {
	return f.Match("reference", func(pat string) bool {
		for _, cand := range []string{it.Repository + ":" + it.Tag, it.Repository, img.Name} {
			if m, _ := path.Match(pat, cand); m {
				return true
			}
		}
		return false
	}) &&
		f.MatchAll("label", func(l string) bool { return cli.MatchLabel(img.Labels, l) }) &&
		f.Match("before", func(ref string) bool { return it.created.Before(f.created[ref]) }) &&
		f.Match("since", func(ref string) bool { return it.created.After(f.created[ref]) }) &&
		f.MatchBool("dangling", it.Tag == "<none>")
}

func since(now, t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	case d < 14*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d weeks ago", int(d.Hours()/24/7))
	case d < 730*24*time.Hour:
		return fmt.Sprintf("%d months ago", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years ago", int(d.Hours()/24/365))
}
