package image

import (
	"context"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/lepton-project/lepton/common/cli"
)

type historyCmd struct {
	cli.Command
	Quiet   bool   `short:"q" long:"quiet" description:"Print layer IDs only"`
	NoTrunc bool   `long:"no-trunc" description:"Do not shorten commands"`
	Format  string `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line), \"table\", or a Go template"`
	Args    struct {
		Image string `positional-arg-name:"<IMAGE>" required:"yes" description:"Image, by name or ID"`
	} `positional-args:"yes"`
}

type historyItem struct {
	CreatedAt    string
	CreatedSince string
	CreatedBy    string
	Comment      string
	EmptyLayer   bool
}

// run lists the image config's history, newest step first, as docker does.
func (h *historyCmd) run(ctx context.Context, a *app) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	imgs, err := find(ctx, c, h.Args.Image)
	if err != nil {
		return err
	}
	cfgDesc, err := containerd.NewImage(c, imgs[0]).Config(ctx)
	if err != nil {
		return err
	}
	cfg, err := readConfig(ctx, c.ContentStore(), cfgDesc)
	if err != nil {
		return err
	}
	now := time.Now()
	var items []historyItem
	for i := len(cfg.History) - 1; i >= 0; i-- {
		hs := cfg.History[i]
		it := historyItem{CreatedBy: hs.CreatedBy, Comment: hs.Comment, EmptyLayer: hs.EmptyLayer}
		if hs.Created != nil {
			it.CreatedAt, it.CreatedSince = hs.Created.Format(time.RFC3339), since(now, *hs.Created)
		}
		if !h.NoTrunc && len(it.CreatedBy) > 45 {
			it.CreatedBy = it.CreatedBy[:44] + "…"
		}
		items = append(items, it)
	}
	if h.Quiet {
		h.Format = "{{.CreatedBy}}"
	}
	return cli.Print(a.env.Stdout, h.Format, cli.Table{
		Headers: []string{"CREATED", "CREATED BY", "COMMENT"},
		Row:     "{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Comment}}",
	}, items)
}
