// Package pid1 is lepton-init, the init that run --init puts in a
// container as its PID 1 (mounted as /sbin/docker-init, as docker does):
// "lepton-init [--] CMD [ARG...]" starts CMD as its one child, forwards it
// every signal it can catch, reaps every zombie (PID 1 inherits a
// container's orphans; off PID 1 it makes itself a child subreaper), and
// exits as CMD did: its exit code, or 128+N when signal N killed it. It
// does what tini, docker's init, does without options. lepton is a static
// binary, so the one file serves in any image.
//
// The directory is applets/init; the package is pid1 because "init"
// cannot be imported under its own name.
package pid1

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	flags "github.com/jessevdk/go-flags"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/cli"
)

// Main runs lepton-init with args (the applet name not included).
func Main(ctx context.Context, env *cli.Env, args []string) error {
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// Parser is lepton-init's command line. It takes none of the global
// options: an init talks to no daemon and keeps no state, and any option
// after CMD is CMD's.
func Parser(_ context.Context, env *cli.Env) *flags.Parser {
	p := cli.NewParser(env, &struct{}{})
	p.Options |= flags.PassAfterNonOption
	p.Usage = "[--] <CMD> [ARG...]"
	p.ShortDescription = "Run a command as a container's init: forward signals, reap zombies"
	p.LongDescription = "Starts CMD as its child, forwards every signal it can catch to it, reaps every zombie and exits with CMD's exit code (128+N if signal N killed it), as tini does. run --init mounts it into a container as /sbin/docker-init."
	p.CommandHandler = func(_ flags.Commander, rest []string) error { return run(env, rest) }
	return p
}

// Exit codes for a command that could not be started, as docker's and the
// shell's.
const (
	exitNotFound = 127
	exitCannot   = 126
)

// ignored are the signals lepton-init catches but does not forward: the
// child's own (SIGCHLD), the ones that would stop it for touching the
// terminal from the background (tini ignores them too), and the Go
// runtime's preemption signal.
var ignored = map[syscall.Signal]bool{unix.SIGCHLD: true, unix.SIGTTIN: true, unix.SIGTTOU: true, unix.SIGURG: true}

// forwarded lists what lepton-init catches: every signal but the ones no
// process can catch (SIGKILL, SIGSTOP) and the synchronous ones a fault
// raises (SIGSEGV, SIGBUS, ...), which are its own; the real-time ones
// too.
func forwarded() []os.Signal {
	own := map[syscall.Signal]bool{unix.SIGKILL: true, unix.SIGSTOP: true, unix.SIGILL: true, unix.SIGTRAP: true,
		unix.SIGABRT: true, unix.SIGBUS: true, unix.SIGFPE: true, unix.SIGSEGV: true, unix.SIGSYS: true}
	var out []os.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		if s == 32 || s == 33 { // the C library's own, never sent to a program
			continue
		}
		if !own[s] {
			out = append(out, s)
		}
	}
	return out
}

func run(env *cli.Env, argv []string) error {
	if len(argv) == 0 {
		return cli.Usagef("no command: give the command to run, as in %s -- CMD [ARG...]", env.Name)
	}
	// As PID 1 it inherits orphans anyway; elsewhere (--pid host, a test)
	// this makes it inherit its child's.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs, forwarded()...) // before the start: no exit goes unseen
	defer signal.Stop(sigs)

	files := make([]*os.File, 3)
	for i, s := range []any{env.Stdin, env.Stdout, env.Stderr} {
		f, ok := s.(*os.File)
		if !ok {
			return fmt.Errorf("stream %d is not a file: an init hands its own streams to its child", i)
		}
		files[i] = f
	}
	path, err := lookPath(env, argv[0])
	if err != nil {
		return err
	}
	pid, err := start(path, argv, files)
	if err != nil {
		code := exitCannot
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			code = exitNotFound
		}
		return &cli.ExitError{Code: code, Err: fmt.Errorf("exec %s: %w", argv[0], err)}
	}
	for s := range sigs {
		sig := s.(syscall.Signal)
		if sig == unix.SIGCHLD {
			if status, done := reap(pid); done {
				return exitOf(status)
			}
			continue
		}
		if !ignored[sig] {
			unix.Kill(pid, sig) // gone already: its SIGCHLD is on its way
		}
	}
	return nil
}

// start starts the child in a process group of its own, as tini does;
// when stdin is a terminal that group becomes its foreground group, so ^C
// and a resize reach the command, not the init.
func start(path string, argv []string, files []*os.File) (int, error) {
	attr := &os.ProcAttr{Files: files, Sys: &syscall.SysProcAttr{Setpgid: true}} // Env nil: this process's
	if _, err := unix.IoctlGetTermios(int(files[0].Fd()), unix.TCGETS); err == nil {
		attr.Sys.Foreground, attr.Sys.Ctty = true, int(files[0].Fd())
	}
	p, err := os.StartProcess(path, argv, attr)
	if err != nil && attr.Sys.Foreground && (errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EPERM)) {
		// A terminal that is not this session's: keep it as it is.
		attr.Sys.Foreground, attr.Sys.Ctty = false, 0
		p, err = os.StartProcess(path, argv, attr)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return 0, err
	}
	pid := p.Pid
	p.Release() // reap waits for it, with every other child
	return pid, nil
}

// reap collects every child that has ended, the orphans it inherited
// with them, and says whether the command was one of them.
func reap(child int) (status unix.WaitStatus, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return status, done
		}
		if pid == child {
			status, done = ws, true
		}
	}
}

// exitOf is the init's own exit for its command's end: the same code, or
// 128+N for a death by signal N, as a shell reports it.
func exitOf(ws unix.WaitStatus) error {
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code == 0 {
		return nil
	}
	return &cli.ExitError{Code: code}
}

// lookPath finds name as execvp does, in the $PATH the init was given
// (the image's), so a missing command is exit 127 and one that is there
// but not executable is 126.
func lookPath(env *cli.Env, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dirs := env.Getenv("PATH")
	if dirs == "" {
		dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	denied := ""
	for _, d := range filepath.SplitList(dirs) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode()&0o111 != 0 {
			return p, nil
		}
		if denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", &cli.ExitError{Code: exitCannot, Err: fmt.Errorf("exec %s: %s: permission denied", name, denied)}
	}
	return "", &cli.ExitError{Code: exitNotFound, Err: fmt.Errorf("exec %s: not found in $PATH (%s)", name, dirs)}
}
