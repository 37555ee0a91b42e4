package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFiltersErrors(t *testing.T) {
	for _, tt := range []struct {
		flags   []string
		allowed []string
		want    string
	}{
		{[]string{"colour=red"}, []string{"name", "label", "label!", "dangling"}, `unknown filter "colour": use name=, label=, label!= or dangling=`},
		{[]string{"name=a", "x=1"}, []string{"name", "label"}, `unknown filter "x": use name= or label=`},
		{[]string{"x=1"}, []string{"label"}, `unknown filter "x": use label=`},
		{[]string{"name"}, []string{"name"}, `bad filter "name": want KEY=VALUE`},
	} {
		_, err := ParseFilters(tt.flags, tt.allowed...)
		var ue *UsageError
		if !errors.As(err, &ue) || err.Error() != tt.want {
			t.Errorf("ParseFilters(%q) = %v, want the usage error %q", tt.flags, err, tt.want)
		}
	}
}

func TestFiltersMatch(t *testing.T) {
	f, err := ParseFilters([]string{"name=web", "name=db", "label=a", "label=b=2", "label!=c"}, "name", "label", "label!", "status")
	if err != nil {
		t.Fatal(err)
	}
	type thing struct {
		name   string
		labels map[string]string
	}
	match := func(x thing) bool {
		return f.Match("name", func(v string) bool { return strings.Contains(x.name, v) }) &&
			f.MatchAll("label", func(v string) bool { return MatchLabel(x.labels, v) }) &&
			f.MatchAll("label!", func(v string) bool { return !MatchLabel(x.labels, v) }) &&
			f.Match("status", func(string) bool { return false }) // absent: holds
	}
	all := map[string]string{"a": "", "b": "2"}
	for _, tt := range []struct {
		x    thing
		want bool
	}{
		{thing{"web", all}, true},
		{thing{"db-1", all}, true}, // values of one key are alternatives
		{thing{"cache", all}, false},
		{thing{"web", map[string]string{"a": ""}}, false},                    // every label must hold
		{thing{"web", map[string]string{"a": "", "b": "3"}}, false},          // with its value
		{thing{"web", map[string]string{"a": "", "b": "2", "c": ""}}, false}, // label! excludes
	} {
		if got := match(tt.x); got != tt.want {
			t.Errorf("match(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
	if !f.Has("name") || f.Has("status") {
		t.Errorf("Has: name %v, status %v", f.Has("name"), f.Has("status"))
	}
}

func TestFiltersBool(t *testing.T) {
	f, err := ParseFilters([]string{"dangling=maybe"}, "dangling")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckBool("dangling"); err == nil || err.Error() != `bad filter "dangling=maybe": dangling takes true or false` {
		t.Errorf("CheckBool = %v", err)
	}
	for _, tt := range []struct {
		values    []string
		got, want bool
	}{
		{nil, true, true},
		{[]string{"true"}, true, true},
		{[]string{"TRUE"}, false, false},
		{[]string{"0"}, false, true},
		{[]string{"1", "false"}, false, true}, // both asked for: either holds
	} {
		f := Filters{"dangling": tt.values}
		if err := f.CheckBool("dangling"); err != nil {
			t.Fatal(err)
		}
		if got := f.MatchBool("dangling", tt.got); got != tt.want {
			t.Errorf("dangling=%q on %v = %v, want %v", tt.values, tt.got, got, tt.want)
		}
	}
}
