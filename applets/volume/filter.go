package volume

import (
	"strings"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/volumes"
)

// filter is a parsed set of --filter flags. As with docker, values of one
// key are alternatives (any may match) and different keys must all match.
type filter struct {
	names     []string
	labels    []string // KEY or KEY=VALUE that must be present
	notLabels []string // label!=KEY[=VALUE]: must be absent
	dangling  []bool
	used      map[string][]string // filled by the caller when needsUsers
}

func parseFilters(fs []string) (*filter, error) {
	f := &filter{}
	for _, s := range fs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, cli.Usagef("bad filter %q: want KEY=VALUE", s)
		}
		switch k {
		case "name":
			f.names = append(f.names, v)
		case "label":
			f.labels = append(f.labels, v)
		case "label!":
			f.notLabels = append(f.notLabels, v)
		case "dangling":
			switch strings.ToLower(v) {
			case "true", "1":
				f.dangling = append(f.dangling, true)
			case "false", "0":
				f.dangling = append(f.dangling, false)
			default:
				return nil, cli.Usagef("bad filter %q: dangling takes true or false", s)
			}
		default:
			return nil, cli.Usagef("unknown filter %q: use name=, label=, label!= or dangling=", k)
		}
	}
	return f, nil
}

func (f *filter) needsUsers() bool { return len(f.dangling) > 0 }

func (f *filter) match(v *volumes.Volume) bool {
	if len(f.names) > 0 && !anyOf(f.names, func(n string) bool { return strings.Contains(v.Name, n) }) {
		return false
	}
	for _, l := range f.labels {
		if !cli.MatchLabel(v.Labels, l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if cli.MatchLabel(v.Labels, l) {
			return false
		}
	}
	if len(f.dangling) > 0 {
		dangling := len(f.used[v.Name]) == 0
		if !anyOf(f.dangling, func(d bool) bool { return d == dangling }) {
			return false
		}
	}
	return true
}

func anyOf[T any](xs []T, pred func(T) bool) bool {
	for _, x := range xs {
		if pred(x) {
			return true
		}
	}
	return false
}
