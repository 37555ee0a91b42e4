package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	flags "github.com/jessevdk/go-flags"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/store"
)

// TestMain makes the test binary answer to every applet name from the same
// table main.go uses, so each "exec lepton-volume ..." in a script goes
// through real argv[0] dispatch in a process of its own.
func TestMain(m *testing.M) {
	entry := func() {
		dropToTestUser() // the rootless scripts' lepton runs as their user
		os.Exit(dispatch(os.Args, &osEnv))
	}
	cmds := map[string]func(){"lepton": entry, "docker": entry}
	for name := range applets {
		cmds[name] = entry
	}
	testscript.Main(m, cmds)
}

// TestScripts runs testscripts/<applet>/*.txtar, one subtest per folder.
func TestScripts(t *testing.T) {
	initBin := staticLepton(t) // builds while setUp starts the daemons
	w := setUp(t)
	t.Cleanup(w.tearDown)
	dirs, err := filepath.Glob("testscripts/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no script folders under testscripts/: %v", err)
	}
	goEnv := goEnvVars(t)
	src, _ := os.Getwd()
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var rw *rootlessWorld
			if filepath.Base(dir) == "rootless" {
				if rw = w.rootlessSetUp(); rw.why != "" {
					if os.Getenv("CI") != "" {
						t.Fatalf("CI is set but the rootless scripts cannot run: %s", rw.why)
					}
					t.Skip(rw.why)
				}
				t.Cleanup(rw.tearDown)
			}
			testscript.Run(t, testscript.Params{
				Dir:                 dir,
				RequireExplicitExec: true,
				RequireUniqueNames:  true,
				UpdateScripts:       os.Getenv("LEPTON_UPDATE") == "1",
				Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"stalesock": stalesock, "ptyrun": ptyrun, "hostnet": hostnet, "status": status, "waitfor": waitfor},
				Setup: func(e *testscript.Env) error {
					work := e.WorkDir
					ns := scriptNamespace(strings.TrimPrefix(filepath.Base(work), "script-"))
					for k, v := range map[string]string{
						"LEPTON_HOME":          filepath.Join(work, "lepton"),
						"HOME":                 filepath.Join(work, "home"),
						"XDG_DATA_HOME":        filepath.Join(work, "home", ".local", "share"),
						"XDG_CONFIG_HOME":      filepath.Join(work, "home", ".config"),
						"XDG_RUNTIME_DIR":      filepath.Join(work, "run"),
						"DOCKER_CONFIG":        filepath.Join(work, "home", ".docker"),
						"CONTAINERD_ADDRESS":   w.address,
						"CONTAINERD_NAMESPACE": ns,
						"REGISTRY":             w.registry,
						"BUSYBOX_TAR":          w.busyboxTar,
						"BUSYBOX_REF":          w.busyboxRef,
						"TWOLAYER":             strings.TrimPrefix(w.twoLayer, w.registry+"/"),
						"CONCURRENT":           strings.TrimPrefix(w.concurrent, w.registry+"/"),
						"CONCURRENT_LAYER":     w.concurrentLayer,
						"REGISTRY_TLS":         w.faces.tls,
						"REGISTRY_TLS_CA":      w.faces.tlsCA,
						"REGISTRY_BASIC":       w.faces.basic,
						"REGISTRY_BEARER":      w.faces.bearer,
						"REGISTRY_FLAKY":       w.faces.flaky,
						"REGISTRY_USER":        testUser,
						"REGISTRY_PASSWORD":    testPassword,
						"LEPTON_SRC":           src,
						"LEPTON_INIT":          initBin(),
					} {
						e.Setenv(k, v)
					}
					for k, v := range goEnv {
						e.Setenv(k, v)
					}
					// The shim runs lepton as the logging binary: point it at
					// the link testscript made, which dispatches like the
					// real binary.
					for _, d := range filepath.SplitList(e.Getenv("PATH")) {
						if _, err := os.Stat(filepath.Join(d, "lepton")); err == nil {
							e.Setenv("LEPTON_SELF", filepath.Join(d, "lepton"))
							break
						}
					}
					addr := w.address
					home := filepath.Join(work, "lepton")
					e.Defer(func() {
						// The buildkitd a build started for this script
						// first: its leases are in the namespace.
						build.Stop(build.DaemonOptions{Containerd: addr, Namespace: ns, DataRoot: home})
						unmountUnder(home)
						cleanNamespace(addr, ns)
						cleanNetworks(home, ns) // bridges and rules are the host's, not $WORK's
					})
					if rw != nil {
						return rw.setup(e, w.busyboxTar)
					}
					return nil
				},
				Condition: func(cond string) (bool, error) {
					switch cond {
					case "containerd": // a containerd daemon is reachable
						return w.address != "", nil
					case "busybox": // the busybox test image was built
						return w.busyboxTar != "", nil
					case "buildkitd": // buildkitd is on PATH (install.sh builds it)
						_, err := exec.LookPath("buildkitd")
						if err != nil && os.Getenv("CI") != "" {
							return false, fmt.Errorf("CI is set but buildkitd is not on PATH: run ./install.sh")
						}
						return err == nil, nil
					case "root": // running as root
						return os.Geteuid() == 0, nil
					case "rootless": // lepton runs as the rootless scripts' user
						return rw != nil, nil
					case "cgroup2": // the host has cgroup v2 alone
						_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
						return err == nil, nil
					case "long": // not in -short mode
						return !testing.Short(), nil
					}
					return false, fmt.Errorf("unknown condition %q", cond)
				},
			})
		})
	}
}

// staticLepton builds lepton as install.sh does, with CGO_ENABLED=0, in
// the background, and returns a function that waits for it and gives its
// path: run --init mounts it into containers (LEPTON_INIT), where the test
// binary, built with cgo, would not find its C library. LEPTON_INIT set
// for the test names one already built instead.
func staticLepton(t *testing.T) func() string {
	if p := os.Getenv("LEPTON_INIT"); p != "" {
		return func() string { return p }
	}
	out := filepath.Join(t.TempDir(), "lepton")
	done := make(chan error, 1)
	go func() {
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			done <- fmt.Errorf("%v\n%s", err, b)
		}
		close(done)
	}()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() { wait() }) // before the directory goes
	return sync.OnceValue(func() string {
		if err := wait(); err != nil {
			t.Errorf("build a static lepton for --init: %v", err)
			return ""
		}
		return out
	})
}

// goEnvVars passes the caller's Go caches to scripts that build lepton
// (install.sh), which would otherwise start from cold caches under $WORK.
func goEnvVars(t *testing.T) map[string]string {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOROOT").Output()
	if err != nil {
		return nil
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	names := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOROOT"}
	m := map[string]string{}
	for i, n := range names {
		if i < len(vals) && vals[i] != "" {
			m[n] = vals[i]
		}
	}
	return m
}

var positionalName = regexp.MustCompile(`^<[A-Z][A-Z_]*>$`)

// TestParsers lints every applet's command line: options and commands are
// described with a capital letter, positionals are named <NAME>.
func TestParsers(t *testing.T) {
	env := &cli.Env{Getenv: func(string) string { return "" }}
	for name, a := range applets {
		env.Name = name
		p := a.Parser(context.Background(), env)
		if p.Name != name {
			t.Errorf("%s: parser is named %q", name, p.Name)
		}
		var walk func(c *flags.Command, path string)
		walk = func(c *flags.Command, path string) {
			for _, g := range c.Groups() {
				for _, o := range g.Options() {
					if !capitalised(o.Description) {
						t.Errorf("%s: option --%s: description %q must start with a capital letter", path, o.LongName, o.Description)
					}
				}
			}
			for _, arg := range c.Args() {
				if !positionalName.MatchString(arg.Name) {
					t.Errorf("%s: positional %q must be named like <NAME>", path, arg.Name)
				}
				if !capitalised(arg.Description) {
					t.Errorf("%s: positional %s: description %q must start with a capital letter", path, arg.Name, arg.Description)
				}
			}
			for _, sub := range c.Commands() {
				if !capitalised(sub.ShortDescription) {
					t.Errorf("%s %s: description %q must start with a capital letter", path, sub.Name, sub.ShortDescription)
				}
				walk(sub, path+" "+sub.Name)
			}
		}
		walk(p.Command, name)
	}
}

func capitalised(s string) bool {
	return s != "" && strings.ToUpper(s[:1]) == s[:1] && s[:1] != strings.ToLower(s[:1])
}

// cleanNetworks removes the networks a script's data root made, with
// their bridges, veths and nftables rules.
func cleanNetworks(home, ns string) {
	ctx := context.Background()
	s, err := store.Open(ctx, home)
	if err != nil {
		return
	}
	if nets, err := networks.Open(s, ns); err == nil {
		nets.RemoveAll(ctx)
	}
}

// hostnet shows what of the host's network a script may check for leaks:
//
//	hostnet rules          lepton's nftables rules, "CHAIN OWNER" a line
//	hostnet links NETWORK  the interfaces plugged into the bridge of the
//	                       script's network NETWORK, a line each
func hostnet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: hostnet rules | hostnet links NETWORK")
	}
	var lines []string
	switch {
	case args[0] == "rules" && len(args) == 1:
		owners, err := networks.RuleOwners()
		ts.Check(err)
		lines = owners
	case args[0] == "links" && len(args) == 2:
		ctx := context.Background()
		s, err := store.Open(ctx, ts.Getenv("LEPTON_HOME"))
		ts.Check(err)
		nets, err := networks.Open(s, ts.Getenv("CONTAINERD_NAMESPACE"))
		ts.Check(err)
		n, err := nets.Get(ctx, args[1])
		ts.Check(err)
		br, err := netlink.LinkByName(n.Bridge)
		ts.Check(err)
		links, err := netlink.LinkList()
		ts.Check(err)
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				lines = append(lines, l.Attrs().Name)
			}
		}
	default:
		ts.Fatalf("usage: hostnet rules | hostnet links NETWORK")
	}
	w := ts.Stdout() // even with nothing to print, so stdout is this command's
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// stalesock PATH leaves a unix socket file nobody listens on, as a dead
// daemon does.
func stalesock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stalesock PATH")
	}
	l, err := net.Listen("unix", ts.MkAbs(args[0]))
	ts.Check(err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	ts.Check(l.Close())
}

// ptyrun INPUT PROG [ARGS...] runs PROG with a new pseudo-terminal as its
// standard streams and controlling terminal, as a person at a terminal
// would: it types INPUT's lines one by one (<ctrl-p> and the like as the
// control keys), then captures what the terminal showed as stdout.
func ptyrun(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: ptyrun INPUTFILE PROG [ARGS...]")
	}
	input, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	master, slavePath, err := console.NewPty()
	ts.Check(err)
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	ts.Check(err)
	prog, err := exec.LookPath(args[1])
	if p := ts.Getenv("PATH"); err != nil || p != "" {
		for _, d := range filepath.SplitList(p) {
			if _, serr := os.Stat(filepath.Join(d, args[1])); serr == nil {
				prog, err = filepath.Join(d, args[1]), nil
				break
			}
		}
	}
	ts.Check(err)
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.Getenv("PWD")
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LEPTON_HOME", "LEPTON_SELF", "LEPTON_INIT", "CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "XDG_RUNTIME_DIR"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	ts.Check(cmd.Start())
	slave.Close()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once the last holder of the slave exits
		close(read)
	}()
	if len(input) > 0 {
		waitRaw(slavePath, 15*time.Second)
	}
	for _, line := range strings.SplitAfter(string(input), "\n") {
		time.Sleep(700 * time.Millisecond) // let the shell in the container come up and prompt
		master.Write([]byte(ctrlKeys(strings.ReplaceAll(line, "\n", "\r"))))
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		ts.Fatalf("ptyrun: %s still running after 60s; the terminal showed:\n%s", args[1], out.String())
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
	}
	ts.Stdout().Write(out.Bytes())
	if neg != (err != nil) {
		ts.Fatalf("ptyrun %s: %v (negated: %v); the terminal showed:\n%s", args[1], err, neg, out.String())
	}
}

// waitRaw waits (at most d) until the program on the terminal at
// slavePath has put it in raw mode. Typed before then, a line would be
// echoed by the terminal itself and ctrl-q taken as flow control, never
// reaching lepton's detach keys; a slow start under load did that.
func waitRaw(slavePath string, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			return
		}
		t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		f.Close()
		if err != nil || t.Lflag&unix.ICANON == 0 {
			return
		}
	}
}

// ctrlKeys turns ptyrun's <ctrl-X> tokens (X a letter) into the control
// bytes a terminal sends, so a script can type detach keys.
func ctrlKeys(s string) string {
	for c := 'a'; c <= 'z'; c++ {
		s = strings.ReplaceAll(s, "<ctrl-"+string(c)+">", string(rune(c-'a'+1)))
	}
	return s
}

// status CODE PROG [ARGS...] runs PROG as exec does (found on the script's
// $PATH, with its environment, directory and stdin) and fails the script
// unless PROG exits with exactly CODE. PROG's stdout and stderr become the
// script's, for the stdout and stderr commands that follow:
//
//	status 125 lepton-run --cpus NaN localhost/busybox:latest true
//	stderr '^lepton-run: bad --cpus "NaN"'
//
// It replaces sh -c 'PROG; echo "exit $?"' with stdout 'exit N'. A death
// by a signal is no exit code and always fails. "! status" is refused:
// status already says which failure it wants.
func status(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: status CODE PROG [ARGS...]"
	if neg {
		ts.Fatalf("! status: unsupported; give the exit code wanted instead (%s)", usage)
	}
	if len(args) < 2 {
		ts.Fatalf(usage)
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want < 0 || want > 255 {
		ts.Fatalf("status: bad exit code %q: want 0 to 255 (%s)", args[0], usage)
	}
	r := runQuiet(ts, "status", args[1], args[2:])
	r.show(ts)
	if r.code != want {
		ts.Fatalf("status: %s %s, want exit %d", args[1], r.how, want)
	}
}

// waitfor [-t DURATION] PROG [ARGS...] runs PROG as exec does, again and
// again, until it exits 0: it pauses 50ms after the first try, twice as
// long after each later one, 500ms at most. It fails the script once
// DURATION (10s unless given; Go's syntax: 500ms, 30s, 1m) has passed since
// it began, with the last try's exit status, stdout and stderr. "! waitfor"
// waits instead until PROG exits with anything but 0. Only the last try's
// output is logged, and it becomes the script's stdout and stderr:
//
//	waitfor -t 30s lepton-container exec box test -s /tmp/ready
//	! waitfor lepton-container exec box test -e /tmp/busy
//
// It replaces sh -c 'for i in $(seq 50); do CMD && exit 0; sleep 0.1;
// done; exit 1', and a blind sleep before checking a condition. A try that
// hangs is not cut short: give PROG a timeout of its own where it may hang
// (wget -T, ping -W). A death by a signal counts as a non-zero exit; a PROG
// that cannot be started (not on $PATH) fails at once. Input from the stdin
// command goes to the first try only.
func waitfor(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: waitfor [-t DURATION] PROG [ARGS...]"
	timeout := 10 * time.Second
	if len(args) > 0 && args[0] == "-t" {
		if len(args) < 2 {
			ts.Fatalf(usage)
		}
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			ts.Fatalf("waitfor: bad -t %q: want a positive duration such as 500ms or 30s (%s)", args[1], usage)
		}
		timeout, args = d, args[2:]
	}
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		ts.Fatalf(usage)
	}
	want := "0"
	if neg {
		want = "non-zero"
	}
	start := time.Now()
	deadline := start.Add(timeout)
	pause := 50 * time.Millisecond
	for try := 1; ; try++ {
		r := runQuiet(ts, "waitfor", args[0], args[1:])
		if (r.code == 0) != neg {
			r.show(ts)
			ts.Logf("waitfor: %s %s on try %d after %v", args[0], r.how, try, time.Since(start).Round(time.Millisecond))
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			r.show(ts)
			output := "its output is above"
			if r.stdout == "" && r.stderr == "" {
				output = "it printed nothing"
			}
			ts.Fatalf("waitfor: %s still %s after %v (%d tries), want exit %s; %s", args[0], r.how, timeout, try, want, output)
		}
		time.Sleep(min(pause, left)) // the last try comes at the deadline
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// ran is what a program run by runQuiet did.
type ran struct {
	code           int    // exit code, -1 for a death by a signal
	how            string // "exited 3", "died (signal: killed)"
	stdout, stderr string
}

// show makes r's output the script's stdout and stderr; testscript logs it
// when the command ends.
func (r ran) show(ts *testscript.TestScript) {
	io.WriteString(ts.Stdout(), r.stdout)
	io.WriteString(ts.Stderr(), r.stderr)
}

// runQuiet runs prog as the exec command does, with the script's
// environment, directory, stdin and deadline, but through
// sh -c 'exec "$@" >FILE 2>FILE', so that testscript logs nothing of it
// (ts.Exec logs each run's output; waitfor's tries would fill the log).
// prog is looked up on the script's $PATH first, so a missing one fails
// the script at once, as it does for exec.
func runQuiet(ts *testscript.TestScript, cmd, prog string, args []string) ran {
	path, err := scriptLookPath(ts, prog)
	if err != nil {
		ts.Fatalf("%s: %v", cmd, err)
	}
	dir, err := os.MkdirTemp(ts.Getenv("TMPDIR"), "run")
	ts.Check(err)
	defer os.RemoveAll(dir)
	err = ts.Exec("/bin/sh", append([]string{"-c", `exec "$@" >"$0/stdout" 2>"$0/stderr"`, dir, path}, args...)...)
	stdout, rerr := os.ReadFile(filepath.Join(dir, "stdout"))
	ts.Check(rerr)
	stderr, rerr := os.ReadFile(filepath.Join(dir, "stderr"))
	ts.Check(rerr)
	r := ran{stdout: string(stdout), stderr: string(stderr), how: "exited 0"}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		r.code, r.how = exit.ExitCode(), fmt.Sprintf("exited %d", exit.ExitCode())
	case errors.As(err, &exit):
		r.code, r.how = -1, fmt.Sprintf("died (%v)", exit)
	default: // the test's deadline, or sh itself would not start
		r.show(ts)
		ts.Fatalf("%s: %s: %v", cmd, prog, err)
	}
	return r
}

// scriptLookPath finds prog as exec does: a name with a slash as it is, a
// bare name in the directories of the script's $PATH.
func scriptLookPath(ts *testscript.TestScript, prog string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		if d == "" {
			d = "."
		}
		p := ts.MkAbs(filepath.Join(d, prog))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", prog)
}
