package cli

import (
	"fmt"
	"reflect"
	"strings"

	flags "github.com/jessevdk/go-flags"
)

// TakesRest is implemented by a command that takes the arguments go-flags
// leaves over, which NewApplet otherwise refuses. A command tagged
// pass-after-non-option (run IMAGE COMMAND ARG..., exec), or any command
// of a parser with flags.PassAfterNonOption set, takes them without it.
type TakesRest interface {
	TakesRest()
}

// globals lets NewApplet find the Globals an applet's options embed: the
// method is promoted to the embedding struct like Resolve.
func (g *Globals) globals() *Globals { return g }

// NewApplet returns the parser of an applet, made by NewParser, whose
// CommandHandler does what every applet's does before its command runs:
// it refuses arguments left over once the command's options and
// positionals are parsed (a usage error, exit 2), unless the command takes
// them (see TakesRest), then resolves the global options, then calls run
// with the chosen command and what was left over (nil when refused).
//
// data is a pointer to a struct that embeds Globals and whose
// command:-tagged fields are the applet's subcommands; each must be a C
// (through its pointer), usually the applet's own interface such as
// interface{ run(ctx, *app) error }, so run needs no type switch. An
// applet without subcommands (lepton-run) embeds its one command in data
// instead, and data itself must then be a C. NewApplet panics when data
// does not fit, so a test that builds every parser (dispatch_test.go)
// catches it.
//
// A typical applet:
//
//	func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
//		opts := &struct {
//			cli.Globals
//			Ls lsCmd `command:"ls" description:"List volumes"`
//		}{}
//		a := &app{env: env, g: &opts.Globals}
//		p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, a) })
//		p.ShortDescription = "Manage volumes"
//		return p
//	}
func NewApplet[C any](env *Env, data any, run func(cmd C, rest []string) error) *flags.Parser {
	holder, ok := data.(interface{ globals() *Globals })
	if !ok {
		panic(fmt.Sprintf("cli.NewApplet: %T does not embed cli.Globals", data))
	}
	checkCommands[C](data)
	g := holder.globals()
	p := NewParser(env, data)
	p.CommandHandler = func(cmd flags.Commander, rest []string) error {
		if cmd == nil {
			cmd, _ = data.(flags.Commander)
		}
		c, ok := cmd.(C)
		if !ok {
			return fmt.Errorf("internal error: %s: %T is not a command", env.Name, cmd)
		}
		if _, takes := cmd.(TakesRest); !takes && !passesRest(p) {
			if len(rest) > 0 {
				return Usagef("unexpected argument %q", strings.Join(rest, " "))
			}
			rest = nil
		}
		g.Resolve(env)
		return run(c, rest)
	}
	return p
}

// passesRest says whether go-flags was told to pass what follows the
// first positional of the chosen command on to it.
func passesRest(p *flags.Parser) bool {
	if p.Options&flags.PassAfterNonOption != 0 {
		return true
	}
	c := p.Command
	for c.Active != nil {
		c = c.Active
	}
	return c.PassAfterNonOption
}

// checkCommands panics unless every command:-tagged field of data's struct
// is a C through its pointer, or, with no such field, data itself is.
// go-flags hides which struct a flags.Command was made from, so this reads
// the tags itself; nested subcommands are not looked into, lepton has none.
func checkCommands[C any](data any) {
	want := reflect.TypeFor[C]()
	t := reflect.TypeOf(data)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("cli.NewApplet: %T is not a pointer to a struct", data))
	}
	found := false
	for _, f := range reflect.VisibleFields(t.Elem()) {
		if _, ok := f.Tag.Lookup("command"); !ok {
			continue
		}
		found = true
		if !reflect.PointerTo(f.Type).AssignableTo(want) {
			panic(fmt.Sprintf("cli.NewApplet: command field %s (%s) is not a %s", f.Name, f.Type, want))
		}
	}
	if !found && !t.AssignableTo(want) {
		panic(fmt.Sprintf("cli.NewApplet: %T has no command fields and is not a %s itself", data, want))
	}
}
