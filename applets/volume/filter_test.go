package volume

import (
	"errors"
	"strings"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/volumes"
)

func TestFilterMatch(t *testing.T) {
	vols := []*volumes.Volume{
		{Name: "photos", Labels: map[string]string{"tier": "db", "keep": ""}},
		{Name: "phone", Labels: map[string]string{"tier": "web"}},
		{Name: "cache"},
	}
	used := map[string][]string{"phone": {"c1"}}
	for _, tt := range []struct {
		filters []string
		want    string
	}{
		{nil, "photos phone cache"},
		{[]string{"name=ph"}, "photos phone"},
		{[]string{"name=tos", "name=cac"}, "photos cache"}, // one key: any value
		{[]string{"name=ph", "label=tier=web"}, "phone"},   // two keys: both
		{[]string{"label=tier"}, "photos phone"},
		{[]string{"label=tier", "label=keep"}, "photos"}, // labels: all of them
		{[]string{"label!=keep"}, "phone cache"},
		{[]string{"label!=tier=db", "label!=tier=web"}, "cache"},
		{[]string{"dangling=true"}, "photos cache"},
		{[]string{"dangling=0"}, "phone"},
		{[]string{"dangling=true", "dangling=false"}, "photos phone cache"},
	} {
		f, err := parseFilters(tt.filters)
		if err != nil {
			t.Fatalf("parseFilters(%q) = %v", tt.filters, err)
		}
		if f.needsUsers() {
			f.used = used
		}
		var got []string
		for _, v := range vols {
			if f.match(v) {
				got = append(got, v.Name)
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q selects %q, want %q", tt.filters, s, tt.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for flag, want := range map[string]string{
		"colour=red":     `unknown filter "colour": use name=, label=, label!= or dangling=`,
		"dangling=maybe": `bad filter "dangling=maybe": dangling takes true or false`,
		"name":           `bad filter "name": want KEY=VALUE`,
	} {
		_, err := parseFilters([]string{flag})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("parseFilters(%q) = %v, want the usage error %q", flag, err, want)
		}
	}
}
