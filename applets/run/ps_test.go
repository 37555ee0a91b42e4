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
