package cli

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

func TestPrintInspect(t *testing.T) {
	type item struct{ Name string }
	missing := TargetErrors{{Target: "b", Err: errdefs.ErrNotFound.WithMessage("no such volume: b")}}
	for _, tt := range []struct {
		format         string
		items          []item
		failed         error
		code           int
		stdout, stderr string
	}{
		{"", nil, nil, 0, "[]\n", ""},
		{"", []item{{"a"}}, missing, 1, "[\n    {\n        \"Name\": \"a\"\n    }\n]\n", "lepton-x: no such volume: b\n"},
		{"{{.Name}}", []item{{"a"}, {"c"}}, nil, 0, "a\nc\n", ""},
		// the template fails on the items found: both errors, the template's code
		{"{{.Nope}}", []item{{"a"}}, missing, 2, "", "lepton-x: no such volume: b\nlepton-x: --format: template: format:1:2: executing \"format\" at <.Nope>: can't evaluate field Nope in type cli.item (see 'lepton-x --help')\n"},
		// standard input could not be read: nothing is printed
		{"", nil, errors.New("reading targets from standard input: broken pipe"), 1, "", "lepton-x: reading targets from standard input: broken pipe\n"},
	} {
		env, out, errb := testEnv("")
		code := Report(env, PrintInspect(env.Stdout, tt.format, tt.items, tt.failed))
		if code != tt.code || out.String() != tt.stdout || errb.String() != tt.stderr {
			t.Errorf("%q %v %v: code %d, stdout %q, stderr %q; want %d, %q, %q", tt.format, tt.items, tt.failed, code, out, errb, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestCheckFormat(t *testing.T) {
	for format, ok := range map[string]bool{
		"": true, "json": true, "table": true, "{{json .}}": true, "{{.Name}}": true,
		"table {{.Name}}\t{{.Driver}}": true, "{{.Name": false, "table {{": false,
	} {
		err := CheckFormat(format)
		var ue *UsageError
		if ok != (err == nil) || err != nil && !errors.As(err, &ue) {
			t.Errorf("CheckFormat(%q) = %v", format, err)
		}
	}
}
