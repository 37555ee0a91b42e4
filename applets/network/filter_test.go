package network

import (
	"errors"
	"strings"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/networks"
)

func TestFilterMatch(t *testing.T) {
	nets := []*networks.Network{
		{ID: "abc123", Name: "blue", Driver: "bridge", Labels: map[string]string{"team": "blue", "env": "prod"}},
		{ID: "abd456", Name: "bluegreen", Driver: "bridge", Labels: map[string]string{"team": "red"}},
		{ID: "f00789", Name: "red", Driver: "macvlan"},
	}
	for _, tt := range []struct {
		filters []string
		want    string
	}{
		{nil, "blue bluegreen red"},
		{[]string{"name=blue"}, "blue bluegreen"},
		{[]string{"name=green", "name=red"}, "bluegreen red"}, // one key: any value (docker's rule)
		{[]string{"id=ab"}, "blue bluegreen"},
		{[]string{"id=abc", "id=f00"}, "blue red"},
		{[]string{"id=ab", "name=green"}, "bluegreen"}, // two keys: both
		{[]string{"label=team"}, "blue bluegreen"},
		{[]string{"label=team=blue", "label=env=prod"}, "blue"}, // labels: all of them
		{[]string{"label=team=blue", "label=team=red"}, ""},
		{[]string{"driver=bridge"}, "blue bluegreen"},
		{[]string{"driver=bridge", "driver=macvlan"}, "blue bluegreen red"},
	} {
		match, err := parseFilters(tt.filters)
		if err != nil {
			t.Fatalf("parseFilters(%q) = %v", tt.filters, err)
		}
		var got []string
		for _, n := range nets {
			if match(n) {
				got = append(got, n.Name)
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q selects %q, want %q", tt.filters, s, tt.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for flag, want := range map[string]string{
		"color=red": `unknown filter "color": use name=, id=, label= or driver=`,
		"name":      `bad filter "name": want KEY=VALUE`,
	} {
		_, err := parseFilters([]string{flag})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("parseFilters(%q) = %v, want the usage error %q", flag, err, want)
		}
	}
}
