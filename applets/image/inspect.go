package image

import (
	"context"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/cli"
)

type inspectCmd struct {
	cli.Command
	Format string `short:"f" long:"format" value-name:"<FORMAT>" description:"Go template applied to each image (default: a JSON array)"`
	Args   struct {
		Images []string `positional-arg-name:"<IMAGE>" required:"1" description:"Images, by name or ID (\"-\" reads them from stdin)"`
	} `positional-args:"yes"`
}

// inspectItem is docker's image inspect shape.
type inspectItem struct {
	Id           string //nolint:revive // docker's spelling, for docker templates
	RepoTags     []string
	RepoDigests  []string
	Comment      string // of the newest history entry, as docker shows a commit's -m
	Created      string
	Author       string
	Architecture string
	Os           string
	Variant      string `json:",omitempty"`
	Size         int64
	Config       imageConfig
	RootFS       rootFS
}

type imageConfig struct {
	User         string
	Env          []string
	Cmd          []string
	Entrypoint   []string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts map[string]struct{}           `json:",omitempty"`
	Volumes      map[string]struct{}           `json:",omitempty"`
	StopSignal   string                        `json:",omitempty"`
	Healthcheck  *dockerspec.HealthcheckConfig `json:",omitempty"`
	Shell        []string                      `json:",omitempty"`
	OnBuild      []string                      `json:",omitempty"`
}

type rootFS struct {
	Type   string
	Layers []string
}

func (ic *inspectCmd) run(ctx context.Context, a *app) error {
	if err := cli.CheckFormat(ic.Format); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	all, err := c.ImageService().List(ctx)
	if err != nil {
		return err
	}
	var items []inspectItem
	failed := cli.ForEach(a.env, ic.Args.Images, func(ref string) (string, error) {
		imgs, err := find(ctx, c, ref)
		if err != nil {
			return "", err
		}
		it, err := inspect(ctx, c, imgs[0], all)
		if err != nil {
			return "", err
		}
		items = append(items, it)
		return "", nil
	})
	return cli.PrintInspect(a.env.Stdout, ic.Format, items, failed)
}

func inspect(ctx context.Context, c *containerd.Client, img images.Image, all []images.Image) (inspectItem, error) {
	ci := containerd.NewImage(c, img)
	cfgDesc, err := ci.Config(ctx)
	if err != nil {
		return inspectItem{}, err
	}
	cfg, err := readConfig(ctx, c.ContentStore(), cfgDesc)
	if err != nil {
		return inspectItem{}, err
	}
	size, err := ci.Size(ctx)
	if err != nil {
		return inspectItem{}, err
	}
	it := inspectItem{
		Id: cfgDesc.Digest.String(), RepoTags: []string{}, RepoDigests: []string{},
		Architecture: cfg.Architecture, Os: cfg.OS, Variant: cfg.Variant, Size: size,
		Config: imageConfig{
			User: cfg.Config.User, Env: cfg.Config.Env, Cmd: cfg.Config.Cmd, Entrypoint: cfg.Config.Entrypoint,
			WorkingDir: cfg.Config.WorkingDir, Labels: cfg.Config.Labels, ExposedPorts: cfg.Config.ExposedPorts,
			Volumes: cfg.Config.Volumes, StopSignal: cfg.Config.StopSignal,
			Healthcheck: cfg.Config.Healthcheck, Shell: cfg.Config.Shell, OnBuild: cfg.Config.OnBuild,
		},
		RootFS: rootFS{Type: cfg.RootFS.Type, Layers: []string{}},
	}
	it.Author = cfg.Author
	if n := len(cfg.History); n > 0 {
		it.Comment = cfg.History[n-1].Comment
	}
	if cfg.Created != nil {
		it.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		it.RootFS.Layers = append(it.RootFS.Layers, d.String())
	}
	for _, other := range all {
		if other.Target.Digest != img.Target.Digest {
			continue
		}
		if strings.Contains(other.Name, "@") {
			it.RepoDigests = append(it.RepoDigests, other.Name)
			continue
		}
		it.RepoTags = append(it.RepoTags, other.Name)
		repo := other.Name
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		it.RepoDigests = append(it.RepoDigests, repo+"@"+img.Target.Digest.String())
	}
	return it, nil
}
