//go:build !windows

package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/lepton-project/lepton/common/cli"
)

type configCmd struct {
	cli.Command
	Format   string `long:"format" value-name:"<yaml|json>" default:"yaml" description:"Print the project as yaml or json"`
	Quiet    bool   `short:"q" long:"quiet" description:"Only check the project; print nothing"`
	Services bool   `long:"services" description:"Print the service names, one a line"`
	Volumes  bool   `long:"volumes" description:"Print the volume names, one a line"`
	Networks bool   `long:"networks" description:"Print the network names, one a line"`
	Images   bool   `long:"images" description:"Print the images the services run, one a line"`
	Profiles bool   `long:"profiles" description:"Print the profiles services are in, one a line"`
	Hash     string `long:"hash" value-name:"<SERVICE|*>" description:"Print a service's config hash (the one up compares); * for all"`
	Output   string `short:"o" long:"output" value-name:"<FILE>" description:"Write to this file instead of standard output"`
}

func (c *configCmd) run(ctx context.Context, a *app, _ []string) error {
	if c.Format != "yaml" && c.Format != "json" {
		return cli.Usagef("bad --format %q: want yaml or json", c.Format)
	}
	p, err := a.load(ctx)
	if err != nil {
		return err
	}
	if c.Quiet {
		return nil
	}
	out := a.env.Stdout
	lines := func(names []string) error {
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		return nil
	}
	switch {
	case c.Services:
		return lines(p.ServiceNames())
	case c.Volumes:
		return lines(p.VolumeNames())
	case c.Networks:
		return lines(p.NetworkNames())
	case c.Images:
		var imgs []string
		for _, s := range p.Services {
			if img := imageOf(p, s); !slices.Contains(imgs, img) {
				imgs = append(imgs, img)
			}
		}
		return lines(imgs)
	case c.Profiles:
		var profiles []string
		for _, s := range p.AllServices() {
			for _, pr := range s.Profiles {
				if !slices.Contains(profiles, pr) {
					profiles = append(profiles, pr)
				}
			}
		}
		return lines(profiles)
	case c.Hash != "":
		names := []string{c.Hash}
		if c.Hash == "*" {
			names = p.ServiceNames()
		}
		names, err := selected(p, names)
		if err != nil {
			return err
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(out, "%s %s\n", n, configHash(p.Services[n]))
		}
		return nil
	}
	b, err := marshalProject(p, c.Format)
	if err != nil {
		return err
	}
	if c.Output != "" {
		return os.WriteFile(c.Output, b, 0o644)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	_, err = out.Write(b)
	return err
}

// marshalProject prints p as yaml or json with every $ in a value
// written $$, as compose files escape it, so that what config prints
// reads back as the same project instead of being interpolated again.
func marshalProject(p *types.Project, format string) ([]byte, error) {
	if format == "json" {
		b, err := p.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(escapeDollars(v)); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	b, err := p.MarshalYAML()
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	escapeNode(&n, false)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func escapeDollars(v any) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, "$", "$$")
	case []any:
		for i := range t {
			t[i] = escapeDollars(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = escapeDollars(t[k])
		}
	}
	return v
}

func escapeNode(n *yaml.Node, key bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !key {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
	case yaml.MappingNode:
		for i, c := range n.Content {
			escapeNode(c, i%2 == 0)
		}
	default:
		for _, c := range n.Content {
			escapeNode(c, false)
		}
	}
}
