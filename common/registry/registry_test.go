package registry

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	orig := `{"auths":{"old.example":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("u:p")) + `"}},"experimental":"enabled","proxies":{"default":{}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDockerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Auths["new.example:5000"] = AuthEntry{Auth: base64.StdEncoding.EncodeToString([]byte("me:pa:ss"))}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "config.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	for _, keep := range []string{`"experimental"`, `"proxies"`, `"old.example"`} {
		if !strings.Contains(string(b), keep) {
			t.Errorf("Save dropped %s: %s", keep, b)
		}
	}
	if u, p, err := Credentials(dir, "new.example:5000"); err != nil || u != "me" || p != "pa:ss" {
		t.Errorf("Credentials = %q, %q, %v; want me, pa:ss", u, p, err)
	}
	if u, p, err := Credentials(dir, "unknown.example"); err != nil || u != "" || p != "" {
		t.Errorf("Credentials(unknown) = %q, %q, %v; want nothing", u, p, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".config.json-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestConfigKeyAndNormalize(t *testing.T) {
	if got := ConfigKey("docker.io"); got != "https://index.docker.io/v1/" {
		t.Errorf("ConfigKey(docker.io) = %q", got)
	}
	for in, want := range map[string]string{
		"alpine":             "docker.io/library/alpine:latest",
		"user/app:1":         "docker.io/user/app:1",
		"127.0.0.1:5000/x/y": "127.0.0.1:5000/x/y:latest",
		"ghcr.io/o/r@sha256:" + strings.Repeat("a", 64): "ghcr.io/o/r@sha256:" + strings.Repeat("a", 64),
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Normalize("UPPER/Case"); err == nil {
		t.Error("Normalize accepted an upper-case repository")
	}
}

func TestResumeRefused(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want bool
	}{
		{"failed to copy: httpReadSeeker: failed open: unexpected status from GET request to http://h/v2/r/blobs/sha256:ab: 416 Requested Range Not Satisfiable", true},
		{"unhandled content range in response: bytes 0-9/10", true},
		{"unexpected status from GET request to http://h/v2/r/blobs/sha256:41600: 404 Not Found", false},
		{"dial tcp 127.0.0.1:41641: connect: connection refused", false},
	} {
		if got := resumeRefused(errors.New(tt.msg)); got != tt.want {
			t.Errorf("resumeRefused(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	err := errors.New("unexpected status: 416 Requested Range Not Satisfiable\nunknown: We don't understand your Range")
	if got, want := oneLine(err), "unexpected status: 416 Requested Range Not Satisfiable; unknown: We don't understand your Range"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}
