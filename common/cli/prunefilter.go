package cli

import (
	"strings"
	"time"
)

// PruneFilter is a prune command's --filter: docker's until=TIME and
// label=KEY[=VALUE], label!=KEY[=VALUE] keys, for anything with a
// creation time and labels. Every label= must hold and no label!=.
type PruneFilter struct {
	Until    time.Time // zero: any age
	labels   []string
	nolabels []string
}

// ParsePruneFilter reads the flags; command names the prune in the error
// a bad one gets ("system prune").
func ParsePruneFilter(fs []string, now time.Time, command string) (PruneFilter, error) {
	var pf PruneFilter
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case k == "label!" && ok:
			pf.nolabels = append(pf.nolabels, v)
		case k == "label" && ok && v != "":
			pf.labels = append(pf.labels, v)
		case k == "until" && ok && v != "":
			t, err := ParseTime(v, now)
			if err != nil {
				return pf, err
			}
			pf.Until = t
		default:
			return pf, Usagef("bad filter %q: %s takes until=TIME, label=KEY[=VALUE] and label!=KEY[=VALUE]", f, command)
		}
	}
	return pf, nil
}

// HasLabels says whether a label= filter was given.
func (pf PruneFilter) HasLabels() bool { return len(pf.labels) > 0 }

// Match says whether something created then, with these labels, is
// selected.
func (pf PruneFilter) Match(created time.Time, labels map[string]string) bool {
	if !pf.Until.IsZero() && !created.Before(pf.Until) {
		return false
	}
	for _, l := range pf.labels {
		if !MatchLabel(labels, l) {
			return false
		}
	}
	for _, l := range pf.nolabels {
		if MatchLabel(labels, l) {
			return false
		}
	}
	return true
}
