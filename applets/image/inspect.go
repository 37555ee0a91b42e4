package image

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"

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
	Created      string
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
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Volumes      map[string]struct{} `json:",omitempty"`
	StopSignal   string              `json:",omitempty"`
}

type rootFS struct {
	Type   string
	Layers []string
}

func (ic *inspectCmd) run(ctx context.Context, a *app, rest []string) error {
	if ic.Format != "" {
		if _, err := cli.Template(ic.Format); err != nil {
			return err
		}
	}
	refs, err := cli.Targets(a.env, append(ic.Args.Images, rest...))
	if err != nil {
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
	items := []inspectItem{}
	failed := 0
	for _, ref := range refs {
		imgs, err := find(ctx, c, ref)
		if err == nil {
			var it inspectItem
			if it, err = inspect(ctx, c, imgs[0], all); err == nil {
				items = append(items, it)
				continue
			}
		}
		fmt.Fprintf(a.env.Stderr, "%s: %v\n", a.env.Name, err)
		failed++
	}
	if ic.Format != "" {
		if err := cli.Print(a.env.Stdout, ic.Format, cli.Table{}, items); err != nil {
			return err
		}
	} else {
		b, _ := json.MarshalIndent(items, "", "    ")
		fmt.Fprintf(a.env.Stdout, "%s\n", b)
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1}
	}
	return nil
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
		},
		RootFS: rootFS{Type: cfg.RootFS.Type, Layers: []string{}},
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
