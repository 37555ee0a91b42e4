package cli

import (
	"errors"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"
)

type testCommand interface {
	do(g *Globals, rest []string) string
}

type plainCmd struct {
	Command
	Args struct {
		Name string `positional-arg-name:"<NAME>"`
	} `positional-args:"yes"`
}

func (c *plainCmd) do(g *Globals, rest []string) string {
	return "plain " + c.Args.Name + " " + g.Namespace + " " + strings.Join(rest, ",")
}

type passCmd struct{ plainCmd }

type restCmd struct{ plainCmd }

func (restCmd) TakesRest() {}

func testApplet(env *Env, got *string) *flags.Parser {
	opts := &struct {
		Globals
		Plain plainCmd `command:"plain" description:"Plain"`
		Pass  passCmd  `command:"pass" pass-after-non-option:"yes" description:"Pass"`
		Rest  restCmd  `command:"rest" description:"Rest"`
	}{}
	return NewApplet(env, opts, func(c testCommand, rest []string) error {
		*got = c.do(&opts.Globals, rest)
		return nil
	})
}

func TestNewApplet(t *testing.T) {
	env, _, _ := testEnv("")
	for _, tt := range []struct {
		args []string
		want string // "" for a usage error
	}{
		{[]string{"plain", "x"}, "plain x default "},
		{[]string{"--namespace", "ns", "plain"}, "plain  ns "},
		{[]string{"plain", "x", "y"}, ""},
		{[]string{"plain", "--", "x", "y"}, ""},
		{[]string{"pass", "x", "-y", "z"}, "plain x default -y,z"},
		{[]string{"rest", "x", "y"}, "plain x default y"},
	} {
		var got string
		_, err := testApplet(env, &got).ParseArgs(tt.args)
		if tt.want == "" {
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "unexpected argument") || got != "" {
				t.Errorf("%q: err %v, ran %q; want an unexpected-argument usage error", tt.args, err, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: err %v, ran %q; want %q", tt.args, err, got, tt.want)
		}
	}
}

type soloCmd struct {
	Command
	Flag bool `long:"flag" description:"A flag"`
}

func (c *soloCmd) do(g *Globals, rest []string) string {
	return "solo " + g.Namespace + " " + strings.Join(rest, ",")
}

// TestNewAppletWithoutSubcommands is lepton-run's shape: the command is
// embedded in the options.
func TestNewAppletWithoutSubcommands(t *testing.T) {
	env, _, _ := testEnv("")
	var got string
	opts := &struct {
		Globals
		soloCmd
	}{}
	p := NewApplet(env, opts, func(c testCommand, rest []string) error { got = c.do(&opts.Globals, rest); return nil })
	if _, err := p.ParseArgs([]string{"--flag", "x"}); err == nil {
		t.Errorf("a leftover argument was taken")
	}
	p = NewApplet(env, opts, func(c testCommand, rest []string) error { got = c.do(&opts.Globals, rest); return nil })
	p.Options |= flags.PassAfterNonOption
	if _, err := p.ParseArgs([]string{"--flag", "img", "cmd", "--flag"}); err != nil || got != "solo default img,cmd,--flag" {
		t.Errorf("err %v, ran %q", err, got)
	}
}

func TestNewAppletRefusesMisfits(t *testing.T) {
	env, _, _ := testEnv("")
	for name, data := range map[string]any{
		"no Globals": &struct {
			Plain plainCmd `command:"plain"`
		}{},
		"not a command": &struct {
			Globals
			Plain soloCmd `command:"plain"`
			Other struct {
				Command
			} `command:"other"`
		}{},
		"no commands": &struct{ Globals }{},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewApplet did not panic", name)
				}
			}()
			NewApplet(env, data, func(testCommand, []string) error { return nil })
		}()
	}
}
