package image

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/images"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

func TestFilterMatch(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2024, 1, n, 0, 0, 0, 0, time.UTC) }
	type image struct {
		name    string
		labels  map[string]string
		created time.Time
	}
	imgs := []image{
		{"docker.io/library/app:1", map[string]string{"tier": "web", "team": "a"}, day(1)},
		{"docker.io/library/app:2", map[string]string{"tier": "web"}, day(2)},
		{"registry.example.com/db:latest", map[string]string{"tier": "db"}, day(3)},
		{"docker.io/library/app@sha256:" + strings.Repeat("a", 64), nil, day(4)},
	}
	createdOf := func(ref string) (time.Time, error) {
		for _, img := range imgs {
			if r, tag := registry.SplitName(img.name); r+":"+tag == ref {
				return img.created, nil
			}
		}
		return time.Time{}, errors.New("no such image: " + ref)
	}
	for _, tt := range []struct {
		filters []string
		want    string
	}{
		{nil, "app:1 app:2 registry.example.com/db:latest app:<none>"},
		{[]string{"reference=app"}, "app:1 app:2 app:<none>"},
		{[]string{"reference=app:1", "reference=*/db"}, "app:1 registry.example.com/db:latest"}, // one key: any value
		{[]string{"reference=app", "label=tier=web"}, "app:1 app:2"},                            // two keys: both
		{[]string{"label=tier=web", "label=team"}, "app:1"},                                     // labels: all of them
		{[]string{"dangling=true"}, "app:<none>"},
		{[]string{"dangling=false", "reference=app"}, "app:1 app:2"},
		{[]string{"before=app:2"}, "app:1"},
		{[]string{"since=app:2"}, "registry.example.com/db:latest app:<none>"},
		{[]string{"since=app:1", "before=registry.example.com/db:latest"}, "app:2"},
	} {
		f, err := parseFilters(tt.filters)
		if err == nil {
			err = f.findImages(createdOf)
		}
		if err != nil {
			t.Fatalf("parseFilters(%q) = %v", tt.filters, err)
		}
		var got []string
		for _, img := range imgs {
			repo, tag := registry.SplitName(img.name)
			if registry.IsDangling(img.name) {
				repo = strings.TrimPrefix(img.name[:strings.LastIndex(img.name, "@")], "docker.io/library/")
			}
			it := &lsItem{Repository: repo, Tag: tag, created: img.created}
			if f.match(it, images.Image{Name: img.name, Labels: img.labels}) {
				got = append(got, repo+":"+tag)
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q selects %q, want %q", tt.filters, s, tt.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	none := func(ref string) (time.Time, error) { return time.Time{}, errors.New("no such image: " + ref) }
	for flag, want := range map[string]string{
		"colour=red":     `unknown filter "colour": use reference=, label=, dangling=, before= or since=`,
		"dangling=maybe": `bad filter "dangling=maybe": dangling takes true or false`,
	} {
		_, err := parseFilters([]string{flag})
		var ue *cli.UsageError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("parseFilters(%q) = %v, want the usage error %q", flag, err, want)
		}
	}
	f, err := parseFilters([]string{"before=gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.findImages(none); err == nil || err.Error() != "filter before=gone: no such image: gone" {
		t.Errorf("before=gone: %v", err)
	}
}

func TestPruneUntil(t *testing.T) {
	now := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	if got, err := pruneUntil("24h", now); err != nil || !got.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("until=24h: %v, %v", got, err)
	}
	if got, err := pruneUntil("2023-12-25T00:00:00Z", now); err != nil || got.Day() != 25 {
		t.Errorf("until=RFC 3339: %v, %v", got, err)
	}
	var ue *cli.UsageError
	if _, err := pruneUntil("soon", now); !errors.As(err, &ue) {
		t.Errorf("until=soon: %v, want a usage error", err)
	}
}
