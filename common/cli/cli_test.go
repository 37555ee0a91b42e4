package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"
)

func testEnv(stdin string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &Env{Name: "lepton-x", Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }}, &out, &errb
}

func TestReport(t *testing.T) {
	for _, tt := range []struct {
		err    error
		code   int
		stdout string
		stderr string
	}{
		{nil, 0, "", ""},
		{&flags.Error{Type: flags.ErrHelp, Message: "Usage: x"}, 0, "Usage: x\n", ""},
		{&flags.Error{Type: flags.ErrUnknownFlag, Message: "unknown flag `z'"}, 2, "", "lepton-x: unknown flag `z' (see 'lepton-x --help')\n"},
		{Usagef("bad %s", "filter"), 2, "", "lepton-x: bad filter (see 'lepton-x --help')\n"},
		{fmt.Errorf("wrapped: %w", Usagef("deep")), 2, "", "lepton-x: deep (see 'lepton-x --help')\n"},
		{&ExitError{Code: 7}, 7, "", ""},
		{&ExitError{Code: 125, Err: errors.New("boom")}, 125, "", "lepton-x: boom\n"},
		{errdefs.ErrNotFound.WithMessage("no such volume: v"), 1, "", "lepton-x: no such volume: v\n"},
		{context.Canceled, 130, "", "lepton-x: interrupted\n"},
	} {
		env, out, errb := testEnv("")
		if got := Report(env, tt.err); got != tt.code || out.String() != tt.stdout || errb.String() != tt.stderr {
			t.Errorf("Report(%v) = %d, stdout %q, stderr %q; want %d, %q, %q", tt.err, got, out, errb, tt.code, tt.stdout, tt.stderr)
		}
	}
}

type row struct{ Name, Driver string }

func TestPrint(t *testing.T) {
	rows := []row{{"a", "local"}, {"bb", "local"}}
	def := Table{Headers: []string{"DRIVER", "NAME"}, Row: "{{.Driver}}\t{{.Name}}"}
	for _, tt := range []struct{ format, want string }{
		{"", "DRIVER    NAME\nlocal     a\nlocal     bb\n"},
		{"json", `{"Name":"a","Driver":"local"}` + "\n" + `{"Name":"bb","Driver":"local"}` + "\n"},
		{"{{.Name}}", "a\nbb\n"},
		{"{{upper .Name}}-{{json .Driver}}", "A-\"local\"\nBB-\"local\"\n"},
		{`table {{.Name}}\t{{.Driver}}`, "NAME      DRIVER\na         local\nbb        local\n"},
	} {
		var buf bytes.Buffer
		if err := Print(&buf, tt.format, def, rows); err != nil || buf.String() != tt.want {
			t.Errorf("Print(%q) = %q, %v; want %q", tt.format, buf.String(), err, tt.want)
		}
	}
	var ue *UsageError
	for _, bad := range []string{"{{.Name", "{{.Missing}}"} {
		if err := Print(&bytes.Buffer{}, bad, def, rows); !errors.As(err, &ue) {
			t.Errorf("Print(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestTargets(t *testing.T) {
	in := "one\n\n{\"Name\":\"two\",\"Driver\":\"local\"}\n{\"ID\":\"abc\"}\n  three  \n"
	env, _, _ := testEnv(in)
	got, err := Targets(env, []string{"first", "-", "last"})
	want := []string{"first", "one", "two", "abc", "three", "last"}
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Targets = %v, %v; want %v", got, err, want)
	}
	env, _, _ = testEnv("{\"Size\":3}\n")
	if _, err := Targets(env, []string{"-"}); err == nil || !strings.Contains(err.Error(), "line 1: JSON object has no Name or ID") {
		t.Fatalf("Targets(object without name) = %v", err)
	}
	env, _, _ = testEnv("{broken\n")
	if _, err := Targets(env, []string{"-"}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("Targets(broken JSON) = %v", err)
	}
}

func TestResolveGlobals(t *testing.T) {
	vars := map[string]string{"CONTAINERD_ADDRESS": "/env.sock", "LEPTON_HOME": "/lh"}
	env := &Env{Getenv: func(k string) string { return vars[k] }}
	g := Globals{Namespace: "given"}
	g.Resolve(env)
	if g.Address != "/env.sock" || g.Namespace != "given" || g.DataRoot != "/lh" {
		t.Fatalf("Resolve = %+v", g)
	}
	g = Globals{Address: "/flag.sock"}
	g.Resolve(&Env{Getenv: func(string) string { return "" }})
	if g.Address != "/flag.sock" || g.Namespace != DefaultNamespace {
		t.Fatalf("Resolve = %+v", g)
	}
}

func TestHelpers(t *testing.T) {
	labels := map[string]string{"tier": "web", "empty": ""}
	for expr, want := range map[string]bool{"tier": true, "tier=web": true, "tier=db": false, "empty=": true, "missing": false} {
		if got := MatchLabel(labels, expr); got != want {
			t.Errorf("MatchLabel(%q) = %v, want %v", expr, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0B", 999: "999B", 3000: "3kB", 1150000: "1.15MB", 2e9: "2GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "": false, "yep\n": false} {
		env, _, errb := testEnv(answer)
		if got := Confirm(env, "This will remove things."); got != want {
			t.Errorf("Confirm(%q) = %v, want %v", answer, got, want)
		}
		if !strings.HasPrefix(errb.String(), "WARNING! This will remove things.\n") {
			t.Errorf("Confirm printed %q", errb.String())
		}
	}
}
