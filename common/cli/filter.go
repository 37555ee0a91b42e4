package cli

import (
	"slices"
	"strings"
)

// Filters is a command's --filter flags by key, values in the order given.
//
// docker's rule decides what a set of filters selects: the values of one
// key are alternatives (name=web --filter name=db lists both) and
// different keys must all hold (name=web --filter status=running). Labels
// are the exception docker makes, and lepton with it: every label= (and
// label!=) filter must hold, since a list of labels describes one thing.
// A command checks a key with Match, a label key with MatchAll.
type Filters map[string][]string

// ParseFilters reads KEY=VALUE flags. A key not in allowed is a usage
// error naming the allowed keys; so is a flag without "=". Keys such as
// "label!" (from label!=KEY) are keys like any other, to be allowed and
// checked by name.
func ParseFilters(flags []string, allowed ...string) (Filters, error) {
	f := Filters{}
	for _, s := range flags {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, Usagef("bad filter %q: want KEY=VALUE", s)
		}
		if !slices.Contains(allowed, k) {
			return nil, Usagef("unknown filter %q: use %s", k, keyList(allowed))
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// keyList is allowed as the error message spells it: "name=, label= or
// dangling=".
func keyList(allowed []string) string {
	keys := make([]string, len(allowed))
	for i, k := range allowed {
		keys[i] = k + "="
	}
	if len(keys) < 2 {
		return strings.Join(keys, "")
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " or " + keys[len(keys)-1]
}

// Has says whether any filter with key was given.
func (f Filters) Has(key string) bool { return len(f[key]) > 0 }

// Match says whether the key is absent, or any of its values satisfies ok.
func (f Filters) Match(key string, ok func(value string) bool) bool {
	vs := f[key]
	if len(vs) == 0 {
		return true
	}
	for _, v := range vs {
		if ok(v) {
			return true
		}
	}
	return false
}

// MatchAll says whether every value of the key satisfies ok (true when
// the key is absent): docker's rule for label filters.
func (f Filters) MatchAll(key string, ok func(value string) bool) bool {
	for _, v := range f[key] {
		if !ok(v) {
			return false
		}
	}
	return true
}

// CheckBool makes sure every value of the key is a boolean as docker
// spells them in filters (true, false, 1 or 0, in any case), so that
// MatchBool can take them as such.
func (f Filters) CheckBool(key string) error {
	for _, v := range f[key] {
		if _, ok := filterBool(v); !ok {
			return Usagef("bad filter %q: %s takes true or false", key+"="+v, key)
		}
	}
	return nil
}

// MatchBool says whether the key is absent or one of its values is got;
// the values must have passed CheckBool.
func (f Filters) MatchBool(key string, got bool) bool {
	return f.Match(key, func(v string) bool {
		b, _ := filterBool(v)
		return b == got
	})
}

func filterBool(v string) (value, ok bool) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}
