package volume

import (
	"strings"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/volumes"
)

// filter is ls's (and prune's) --filter, matched by docker's rule (see
// cli.Filters): name=SUBSTRING, label=KEY[=VALUE], label!=KEY[=VALUE]
// (must be absent), dangling=true|false.
type filter struct {
	cli.Filters
	used map[string][]string // filled by the caller when needsUsers
}

func parseFilters(fs []string) (*filter, error) {
	f, err := cli.ParseFilters(fs, "name", "label", "label!", "dangling")
	if err != nil {
		return nil, err
	}
	if err := f.CheckBool("dangling"); err != nil {
		return nil, err
	}
	return &filter{Filters: f}, nil
}

// needsUsers says whether match needs to know which containers use which
// volumes, which takes a trip to containerd.
func (f *filter) needsUsers() bool { return f.Has("dangling") }

func (f *filter) match(v *volumes.Volume) bool {
	return f.Match("name", func(n string) bool { return strings.Contains(v.Name, n) }) &&
		f.MatchAll("label", func(l string) bool { return cli.MatchLabel(v.Labels, l) }) &&
		f.MatchAll("label!", func(l string) bool { return !cli.MatchLabel(v.Labels, l) }) &&
		f.MatchBool("dangling", len(f.used[v.Name]) == 0)
}
