package build

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	src := `# a comment
ARG BASE=localhost/busybox:latest
ARG TAG
FROM $BASE AS build
RUN true
FROM scratch
COPY --from=build /x /x
COPY --from=registry.example/tools:1 /t /t
COPY --from=0 /y /y
FROM build AS final
`
	df, err := ParseDockerfile("Dockerfile", []byte(src), map[string]string{"TAG": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"build", "", "final"}; !reflect.DeepEqual(df.Stages, want) {
		t.Errorf("stages %q, want %q", df.Stages, want)
	}
	if want := []string{"localhost/busybox:latest", "registry.example/tools:1"}; !reflect.DeepEqual(df.Images, want) {
		t.Errorf("images %q, want %q", df.Images, want)
	}
	df, err = ParseDockerfile("Dockerfile", []byte(src), map[string]string{"BASE": "other:2"})
	if err != nil || df.Images[0] != "other:2" {
		t.Errorf("a build arg for FROM: %v %v", df, err)
	}
	if err := df.CheckTarget("Dockerfile", "FINAL"); err != nil {
		t.Errorf("targets match without case: %v", err)
	}
	if err := df.CheckTarget("Dockerfile", "nope"); err == nil || !strings.Contains(err.Error(), "its stages are: build, final") {
		t.Errorf("unknown target: %v", err)
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"FROM a\nBOGUS x\n":      "Dockerfile:2: unknown instruction: BOGUS",
		"RUN x\nFROM a\n":        "Dockerfile:1: RUN before the first FROM",
		"# nothing\n":            "Dockerfile: ",
		"ARG B\nFROM $B\n":       "Dockerfile:2: FROM $B names no image",
		"FROM a\nCOPY --bad x y": "Dockerfile:2: ",
	} {
		_, err := ParseDockerfile("Dockerfile", []byte(src), nil)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", src, err, want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	for in, want := range map[string]Secret{
		"id=a,src=/f":         {ID: "a", File: "/f"},
		"id=a,source=/f":      {ID: "a", File: "/f"},
		"id=a,env=V":          {ID: "a", Env: "V"},
		"id=a,type=env":       {ID: "a", Env: "a"},
		"id=a,type=env,src=V": {ID: "a", Env: "V"},
		"id=a":                {ID: "a", File: "a"},
		`"id=a,b",src=/f`:     {ID: "a,b", File: "/f"},
	} {
		got, err := ParseSecret(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"src=/f", "id=a,colour=red", "id=a,type=vault", "id=a,src=/f,env=V", "id"} {
		if _, err := ParseSecret(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestParseOutputAndCache(t *testing.T) {
	for in, want := range map[string]Entry{
		"out":                      {Type: "local", Attrs: map[string]string{"dest": "out"}},
		"-":                        {Type: "tar", Attrs: map[string]string{"dest": "-"}},
		"type=tar,dest=x.tar":      {Type: "tar", Attrs: map[string]string{"dest": "x.tar"}},
		"type=image,name=a,push=1": {Type: "image", Attrs: map[string]string{"name": "a", "push": "1"}},
	} {
		got, err := ParseOutput(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("-o %s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"type=zip,dest=x", "type=local", "type=local,dest=-", "dest=x"} {
		if _, err := ParseOutput(in); err == nil {
			t.Errorf("-o %s: no error", in)
		}
	}
	if e, err := ParseCache("--cache-from", "reg/cache:1"); err != nil || e.Type != "registry" || e.Attrs["ref"] != "reg/cache:1" {
		t.Errorf("bare cache ref: %+v %v", e, err)
	}
	for flag, in := range map[string]string{"--cache-from": "type=local,dest=x", "--cache-to": "type=local,src=x", "--cache-to ": "type=s3"} {
		if _, err := ParseCache(strings.TrimSpace(flag), in); err == nil {
			t.Errorf("%s %s: no error", flag, in)
		}
	}
	if _, err := ParseCache("--cache-from", "type=inline"); err == nil {
		t.Error("--cache-from type=inline: no error")
	}
}

func TestAddHosts(t *testing.T) {
	got, err := addHosts([]string{"db:10.0.0.1", "v6=[::1]", "x:fe80::1"})
	if err != nil || got != "db=10.0.0.1,v6=::1,x=fe80::1" {
		t.Errorf("got %q %v", got, err)
	}
	for _, bad := range []string{"nohost", ":1.2.3.4", "db:notanip"} {
		if _, err := addHosts([]string{bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestBuiltinSyntax(t *testing.T) {
	for ref, want := range map[string]bool{
		"docker/dockerfile:1":                                 true,
		"docker/dockerfile:1.7-labs":                          true,
		"docker.io/docker/dockerfile":                         true,
		"docker/dockerfile-upstream:master":                   true,
		"docker/dockerfile@sha256:" + strings.Repeat("a", 64): true,
		"example.com/frontends/dockerfile:1":                  false,
		"tonistiigi/dockerfile:1":                             false,
		"NOT A REF":                                           false,
	} {
		if got := builtinSyntax(ref); got != want {
			t.Errorf("%s: %v, want %v", ref, got, want)
		}
	}
}
