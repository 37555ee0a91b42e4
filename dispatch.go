package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"

	"github.com/lepton-project/lepton/common/cli"
)

// globalFlags are the options "lepton" takes before the command and hands
// on to the applet; true means the option takes a value.
var globalFlags = map[string]bool{"--address": true, "--namespace": true, "--data-root": true, "--hosts-dir": true}

func init() {
	for name, c := range commands {
		if _, ok := applets[c.applet]; !ok {
			panic(fmt.Sprintf("command %q points at unknown applet %q", name, c.applet))
		}
	}
	for name, a := range inContainer {
		if _, ok := applets[a]; !ok || applets[name].Main != nil {
			panic(fmt.Sprintf("in-container name %q points at unknown applet %q, or is an applet itself", name, a))
		}
	}
}

var osEnv = cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}

// dispatch dispatches on args[0] and returns the exit code.
func dispatch(args []string, base *cli.Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := *base
	// containerd's libraries log what they do and what they clean up; lepton
	// reports its own errors, so their logs would only say things twice.
	log.L.Logger.SetLevel(logrus.FatalLevel)
	name := strings.TrimSuffix(filepath.Base(args[0]), ".exe")
	if a, ok := inContainer[name]; ok {
		name = a
	}
	if name == "lepton" || name == "docker" {
		env.Name, env.Docker = name, name == "docker"
		return runCommand(ctx, &env, args[1:])
	}
	if len(args) > 1 && args[1] == "__complete" {
		args = append([]string{args[0]}, args[2:]...) // the applet completes through go-flags
	}
	a, ok := applets[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "lepton: %q is not an applet; lepton answers to:\n%s\n", name, strings.Join(appletNames(), "\n"))
		return cli.ExitUsage
	}
	env.Name = name
	if err := enterRootless(ctx, &env, name, args[1:]); err != nil {
		return cli.Report(&env, err)
	}
	return cli.Report(&env, a.Main(ctx, &env, args[1:]))
}

// runCommand handles "lepton [GLOBAL OPTIONS] <command> [ARGS]".
func runCommand(ctx context.Context, env *cli.Env, args []string) int {
	var globals []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		flag, _, hasValue := strings.Cut(a, "=")
		switch {
		case a == "--list-applets":
			fmt.Fprintln(env.Stdout, strings.Join(appletNames(), "\n"))
			return cli.ExitOK
		case a == "-h" || a == "--help":
			usage(env)
			return cli.ExitOK
		case a == "-v" || a == "--version":
			// docker's --version: the client's alone, no daemon asked.
			fmt.Fprintf(env.Stdout, "lepton version %s\n", cli.ClientVersion())
			return cli.ExitOK
		case a == "--man":
			return manPage(ctx, env, args[1:])
		case globalFlags[flag] && hasValue:
			globals, args = append(globals, a), args[1:]
		case globalFlags[flag] && len(args) > 1:
			globals, args = append(globals, a, args[1]), args[2:]
		case globalFlags[flag]:
			return cli.Report(env, cli.Usagef("option %s needs a value", a))
		default:
			return cli.Report(env, cli.Usagef("unknown option %q before the command", a))
		}
	}
	if len(args) == 0 {
		usage(env)
		return cli.ExitOK // as docker alone does
	}
	switch args[0] {
	case "__complete":
		if len(args) <= 2 {
			prefix := ""
			if len(args) == 2 {
				prefix = args[1]
			}
			for _, n := range append(commandNames(), "completion", "help", "version") {
				if strings.HasPrefix(n, prefix) {
					fmt.Fprintln(env.Stdout, n)
				}
			}
			return cli.ExitOK
		}
		return runCommand(ctx, env, append(globals, args[1:]...))
	case "completion":
		if len(args) != 2 || args[1] != "bash" {
			return cli.Report(env, cli.Usagef("usage: lepton completion bash"))
		}
		fmt.Fprint(env.Stdout, bashCompletion(appletNames()))
		return cli.ExitOK
	case "help":
		if len(args) == 1 {
			usage(env)
			return cli.ExitOK
		}
		// lepton help COMMAND [SUBCOMMAND]: that command's own --help.
		return runCommand(ctx, env, append(append(globals, args[1:]...), "--help"))
	case "version", "inspect":
		if err := enterRootless(ctx, env, "lepton", append(globals, args[1:]...)); err != nil {
			return cli.Report(env, err)
		}
		if args[0] == "version" {
			return cli.Report(env, version(ctx, env, append(globals, args[1:]...)))
		}
		return inspectAny(ctx, env, globals, args[1:])
	}
	c, ok := commands[args[0]]
	if len(args) > 1 {
		if c2, ok2 := commands[args[0]+" "+args[1]]; ok2 {
			c, ok, args = c2, true, args[1:]
		}
	}
	if !ok {
		fmt.Fprintf(env.Stderr, "%s: unknown command %q; the commands are: %s\n", env.Name, args[0], strings.Join(commandNames(), ", "))
		return cli.ExitUsage
	}
	env.Name = c.applet
	full := append(append(append([]string{}, globals...), c.prefix...), args[1:]...)
	if err := enterRootless(ctx, env, c.applet, full); err != nil {
		return cli.Report(env, err)
	}
	return cli.Report(env, applets[c.applet].Main(ctx, env, full))
}

func usage(env *cli.Env) {
	fmt.Fprintf(env.Stdout, `Usage: %s [--address SOCKET] [--namespace NAME] [--data-root DIR] COMMAND [ARGS...]

Commands:
  %s
  version    Show lepton's and containerd's versions

Every command is also an applet of its own, run through a link named after it
(%s). Run "%s COMMAND --help" for a command's options.
`, env.Name, strings.Join(commandNames(), "\n  "), strings.Join(appletNames(), ", "), env.Name)
}

func appletNames() []string {
	names := make([]string, 0, len(applets))
	for n := range applets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		if strings.HasPrefix(n, "_") || strings.Contains(n, " ") {
			continue // internal (the shim's logging binary), or a subcommand of another word
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// bashCompletion is a bash completion script for lepton, docker and every
// applet. The candidates come from the applets' own go-flags parsers
// (go-flags' completion protocol), so they never drift from the options.
func bashCompletion(names []string) string {
	return `# lepton bash completion: eval "$(lepton completion bash)"
_lepton() {
	local IFS=$'\n'
	COMPREPLY=($(GO_FLAGS_COMPLETION=1 "${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _lepton lepton docker ` + strings.Join(names, " ") + "\n"
}

// manPage writes the man page of an applet, from its parser.
func manPage(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) != 1 {
		return cli.Report(env, cli.Usagef("usage: lepton --man APPLET (one of %s)", strings.Join(appletNames(), ", ")))
	}
	a, ok := applets[args[0]]
	if !ok {
		return cli.Report(env, cli.Usagef("%q is not an applet; lepton answers to %s", args[0], strings.Join(appletNames(), ", ")))
	}
	aenv := *env
	aenv.Name = args[0]
	a.Parser(ctx, &aenv).WriteManPage(env.Stdout)
	return cli.ExitOK
}
