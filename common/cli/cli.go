// Package cli holds what every lepton applet does the same way: the streams
// and environment it is handed, go-flags parsing, exit codes, output formats
// and reading targets from standard input.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"
)

// Env is all an applet may touch of its process: it reads no os.Args and no
// os.Environ, and writes only to these streams, so that it runs the same
// under the multicall binary, in tests and inside another program.
type Env struct {
	Name   string // the name the applet answers to in messages, e.g. "lepton-volume"
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Docker is set when lepton runs as docker (a link of that name): its
	// usage errors then exit ExitDocker, as docker's CLI exits for a bad
	// flag of any command.
	Docker bool
}

// Main is the entry point of an applet.
type Main func(ctx context.Context, env *Env, args []string) error

// Applet is one entry of lepton's applet table.
type Applet struct {
	Main Main
	// Parser returns the applet's command line, for help, completion and
	// the tests that lint every option.
	Parser func(ctx context.Context, env *Env) *flags.Parser
}

// ExitError ends the process with Code. A nil Err means the reason was
// already printed (a command over several targets returns TargetErrors
// instead, which Report prints).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a mistake in how a command was called; it exits 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, a...)}
}

// Exit codes lepton uses besides a container's own.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitDocker  = 125 // docker's code for its own errors: run's, and any command's usage
)

// usageExit is the exit code of a usage error.
func (e *Env) usageExit() int {
	if e.Docker {
		return ExitDocker
	}
	return ExitUsage
}

// Command is embedded in every go-flags command struct: go-flags needs a
// Commander to dispatch to, but lepton's commands run through the applet's
// CommandHandler, which hands them a context and their dependencies.
type Command struct{}

// Execute is never called when the parser was made by NewParser.
func (Command) Execute([]string) error {
	return errors.New("internal error: command run outside its applet's command handler")
}

// NewParser returns a fresh parser for data, named after the applet, with
// help but without go-flags' own error printing: Report decides where
// errors go. Under go-flags' completion protocol (GO_FLAGS_COMPLETION set)
// the candidates go to the applet's stdout, and nothing runs.
func NewParser(env *Env, data any) *flags.Parser {
	p := flags.NewParser(data, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = env.Name
	p.CompletionHandler = func(items []flags.Completion) {
		for _, it := range items {
			fmt.Fprintln(env.Stdout, it.Item)
		}
	}
	return p
}

// Report prints err, if any, the way every applet does, and returns the
// process exit code. Help goes to stdout and exits 0; usage errors name the
// applet's --help and exit 2 (125 when lepton runs as docker); a
// TargetErrors prints one line per failed target and exits 1; anything
// else prints once as
// "<applet>: <what failed>: <why>". A command that went through its
// targets and then failed as a whole (inspect, whose --format could not
// show the ones it found) returns errors.Join(targetErrors, err): both are
// printed, in that order, and the exit code is err's.
func Report(env *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if parts := j.Unwrap(); len(parts) == 2 {
			switch parts[0].(type) {
			case TargetErrors, *TargetErrors:
				Report(env, parts[0])
				return Report(env, parts[1])
			}
		}
	}
	// First, so that a target's usage error (or any other kind) still
	// prints as one line among the others rather than as the whole story.
	if tes, ok := asTargetErrors(err); ok {
		for _, te := range tes {
			fmt.Fprintf(env.Stderr, "%s: %v\n", env.Name, te.Err)
		}
		return ExitFailure
	}
	var fe *flags.Error
	if errors.As(err, &fe) {
		if fe.Type == flags.ErrHelp {
			fmt.Fprintln(env.Stdout, strings.TrimRight(fe.Message, "\n"))
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "%s: %s (see '%s --help')\n", env.Name, fe.Message, env.Name)
		return env.usageExit()
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "%s: %s (see '%s --help')\n", env.Name, ue.msg, env.Name)
		return env.usageExit()
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(env.Stderr, "%s: %s\n", env.Name, ee.Err)
		}
		return ee.Code
	}
	if errdefs.IsCanceled(err) {
		fmt.Fprintf(env.Stderr, "%s: interrupted\n", env.Name)
		return 130
	}
	fmt.Fprintf(env.Stderr, "%s: %s\n", env.Name, strings.TrimSpace(err.Error()))
	return ExitFailure
}

// asTargetErrors finds a TargetErrors in err's chain, whether it was
// returned as a value (as ForEach does) or as a pointer.
func asTargetErrors(err error) (TargetErrors, bool) {
	var v TargetErrors
	if errors.As(err, &v) {
		return v, true
	}
	var p *TargetErrors
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return nil, false
}
