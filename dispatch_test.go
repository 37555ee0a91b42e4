package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// parserOf builds an applet's parser, turning a panic (cli.NewApplet's
// for options that do not fit) into an error naming the applet.
func parserOf(name string) (p *flags.Parser, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the parser panicked: %v", r)
		}
	}()
	env := &cli.Env{Name: name, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	return applets[name].Parser(context.Background(), env), nil
}

// isHelp says whether err is go-flags' help, which it returns only once
// it has parsed the command line up to --help: the parser was built
// without error (a bad tag shows up here, at the first parse) and the
// words before --help name commands.
func isHelp(err error) bool {
	var fe *flags.Error
	return errors.As(err, &fe) && fe.Type == flags.ErrHelp
}

// TestAppletParsersBuild builds every applet's parser and parses --help
// with it. (TestParsers in scripts_test.go lints the descriptions.)
func TestAppletParsersBuild(t *testing.T) {
	for _, name := range appletNames() {
		p, err := parserOf(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := p.ParseArgs([]string{"--help"}); !isHelp(err) {
			t.Errorf("%s --help: %v, want the help text", name, err)
		}
	}
}

// TestCommandsNameSubcommands checks that each word of "lepton <word>"
// leads where main.go's commands table says: its prefix arguments are
// commands (by name or alias) of its applet's parser, one level down per
// word, so "lepton images" cannot quietly point at a command renamed
// since.
func TestCommandsNameSubcommands(t *testing.T) {
	reached := map[string]bool{}
	for word, c := range commands {
		reached[c.applet] = true
		p, err := parserOf(c.applet)
		if err != nil {
			t.Errorf("%s: applet %s: %v", word, c.applet, err)
			continue
		}
		cmd, path := p.Command, c.applet
		for _, w := range c.prefix {
			sub := subcommand(cmd, w)
			if sub == nil {
				t.Errorf("lepton %s: %s has no command %q (it has %s)", word, path, w, strings.Join(commandWords(cmd), ", "))
				break
			}
			cmd, path = sub, path+" "+sub.Name
		}
		if _, err := p.ParseArgs(append(append([]string{}, c.prefix...), "--help")); !isHelp(err) {
			t.Errorf("lepton %s: %s %s --help: %v, want the help text", word, c.applet, strings.Join(c.prefix, " "), err)
		}
	}
	for _, name := range appletNames() {
		if !reached[name] {
			t.Errorf("no command of lepton's table leads to applet %s", name)
		}
	}
}

// subcommand finds the command of c named or aliased w, hidden ones too.
func subcommand(c *flags.Command, w string) *flags.Command {
	for _, sub := range c.Commands() {
		if sub.Name == w {
			return sub
		}
		for _, a := range sub.Aliases {
			if a == w {
				return sub
			}
		}
	}
	return nil
}

func commandWords(c *flags.Command) []string {
	var ws []string
	for _, sub := range c.Commands() {
		ws = append(ws, sub.Name)
		ws = append(ws, sub.Aliases...)
	}
	sort.Strings(ws)
	if len(ws) == 0 {
		return []string{"no commands"}
	}
	return ws
}
