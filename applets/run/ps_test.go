//go:build !windows

package run

import (
	"errors"
	"strings"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
)

func TestPsNameFilter(t *testing.T) {
	for _, tt := range []struct {
		filter string
		name   string
		want   bool
	}{
		{"web", "web", true},
		{"web", "webapp", true}, // unanchored, as docker's: a substring still matches
		{"eb", "web", true},
		{"^web$", "web", true},
		{"^web$", "webapp", false},
		{"^/web$", "web", true}, // docker's API form of the name
		{"/web", "web", true},
		{"^/web$", "myweb", false},
		{"^we$", "web", false},
		{"^(db|cache)-[0-9]+$", "db-12", true},
		{"^(db|cache)-[0-9]+$", "db-x", false},
		{"a.b", "a.b", true},
		{"a.b", "axb", true},
		{`a\.b`, "axb", false},
	} {
		f, err := parsePsFilters([]string{"name=" + tt.filter})
		if err != nil {
			t.Fatalf("parsePsFilters(name=%s) = %v", tt.filter, err)
		}
		if got := f.match(&psItem{Names: tt.name}); got != tt.want {
			t.Errorf("name=%s on %q = %v, want %v", tt.filter, tt.name, got, tt.want)
		}
	}
}

func TestPsNameFiltersAreAlternatives(t *testing.T) {
	f, err := parsePsFilters([]string{"name=^web$", "name=^db$"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"web": true, "db": true, "webdb": false} {
		if got := f.match(&psItem{Names: name}); got != want {
			t.Errorf("name=^web$ name=^db$ on %q = %v, want %v", name, got, want)
		}
	}
}

func TestPsBadNameFilter(t *testing.T) {
	for _, v := range []string{"name=[", "name=web(", "name=a**", `name=\`} {
		_, err := parsePsFilters([]string{v})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "name takes a regular expression") {
			t.Errorf("parsePsFilters(%q) = %v, want a usage error about the regular expression", v, err)
		}
	}
}

func TestPsFilterMatch(t *testing.T) {
	items := []psItem{
		{ID: "aaa111", Names: "web", Image: "docker.io/library/nginx:latest", State: "running", labels: map[string]string{"tier": "front", "team": "a"}},
		{ID: "aab222", Names: "db", Image: "docker.io/library/postgres:16", State: "exited", exit: 3, labels: map[string]string{"tier": "back"}},
		{ID: "bbb333", Names: "job", Image: "docker.io/library/busybox:latest", State: "exited", exit: 0},
		{ID: "ccc444", Names: "new", Image: "docker.io/library/busybox:latest", State: "created"},
	}
	for _, tt := range []struct {
		filters []string
		want    string
	}{
		{nil, "web db job new"},
		{[]string{"status=exited"}, "db job"},
		{[]string{"status=running", "status=created"}, "web new"}, // one key: any value
		{[]string{"status=exited", "id=aa"}, "db"},                // two keys: both
		{[]string{"id=aaa", "id=ccc"}, "web new"},
		{[]string{"label=tier"}, "web db"},
		{[]string{"label=tier", "label=team=a"}, "web"}, // labels: all of them
		{[]string{"ancestor=busybox"}, "job new"},
		{[]string{"ancestor=nginx", "ancestor=postgres:16"}, "web db"},
		{[]string{"exited=0"}, "job"}, // a created container has no exit code
		{[]string{"exited=3", "exited=0"}, "db job"},
		{[]string{"name=^(web|new)$", "status=running"}, "web"},
	} {
		f, err := parsePsFilters(tt.filters)
		if err != nil {
			t.Fatalf("parsePsFilters(%q) = %v", tt.filters, err)
		}
		var got []string
		for i := range items {
			if f.match(&items[i]) {
				got = append(got, items[i].Names)
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q selects %q, want %q", tt.filters, s, tt.want)
		}
	}
}

func TestPsFilterErrors(t *testing.T) {
	for flag, want := range map[string]string{
		"colour=blue":   `unknown filter "colour": use name=, label=, status=, ancestor=, id=, exited= or health=`,
		"status=sleepy": `bad filter "status=sleepy": status is one of created, running, paused, exited, restarting, removing, dead`,
		"exited=x":      `bad filter "exited=x": exited takes an exit code`,
		"status":        `bad filter "status": want KEY=VALUE`,
	} {
		_, err := parsePsFilters([]string{flag})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("parsePsFilters(%q) = %v, want the usage error %q", flag, err, want)
		}
	}
}
