package rootless

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/text"
)

func ownedBy(path string, uid int) bool {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	return int(st.Uid) == uid && st.Mode&0o077 == 0
}

// StartOptions says how to start the daemon.
type StartOptions struct {
	// Self is the lepton binary rootlesskit runs as its child (which
	// prepares the namespaces, then becomes containerd). Its name must be
	// "lepton": the child is "lepton system rootless __child".
	Self string
	// Net is rootlesskit's network driver: "slirp4netns", or "" for the
	// environment's LEPTON_ROOTLESS_NET or else slirp4netns (see pickNet).
	Net string
	// Timeout bounds the wait for containerd to answer; 0 is 30 seconds.
	Timeout time.Duration
	// Foreground makes Start become rootlesskit instead of starting it in
	// the background: for a service manager (systemd) to supervise. It
	// returns only on failure; rootlesskit and containerd log to stderr.
	Foreground bool
}

// Running says whether the daemon's rootlesskit lives and its containerd
// accepts connections, and gives the PID of rootlesskit's child, the
// process whose namespaces a lepton enters.
func (d Daemon) Running() (child int, ok bool) {
	pid, start, err := readPID(d.pidPath())
	if err != nil || !proc.Alive(pid, start) {
		return 0, false
	}
	if child = d.child(pid); child == 0 {
		return 0, false
	}
	c, err := net.DialTimeout("unix", d.Address(), time.Second)
	if err != nil {
		return 0, false
	}
	c.Close()
	return child, true
}

// Start starts the daemon unless it runs, and returns the PID of
// rootlesskit's child once containerd answers. Any number of processes may
// call it at once: one starts the daemon, the others wait for it.
func (d Daemon) Start(ctx context.Context, o StartOptions) (int, error) {
	if child, ok := d.Running(); ok {
		return child, nil
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return 0, fmt.Errorf("rootless: %w", err)
	}
	unlock, err := store.LockFile(ctx, filepath.Join(d.Dir, "start.lock"))
	if err != nil {
		return 0, fmt.Errorf("rootless: %w", err)
	}
	defer unlock()
	if child, ok := d.Running(); ok {
		return child, nil // another lepton started it while this one waited
	}
	var missing []string
	for _, p := range Check(o.Net) {
		if !p.OK {
			missing = append(missing, p.What+": "+p.Detail)
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("cannot start the rootless containerd:\n  %s\n(lepton system rootless check tells the same)", strings.Join(missing, "\n  "))
	}
	// A rootlesskit still starting (under a service manager, or after a
	// kill of the lepton that started it) is given the time to answer; one
	// that lives on without a containerd is stopped, and the namespaces
	// made afresh.
	if pid, start, err := readPID(d.pidPath()); err == nil && proc.Alive(pid, start) {
		waitUntil(func() bool { _, ok := d.Running(); return ok || !proc.Alive(pid, start) }, 10*time.Second)
		if child, ok := d.Running(); ok {
			return child, nil
		}
	}
	d.stopLocked()
	return d.start(ctx, o)
}

func (d Daemon) start(ctx context.Context, o StartOptions) (int, error) {
	netDriver, err := pickNet(o.Net)
	if err != nil {
		return 0, err
	}
	kit, err := exec.LookPath("rootlesskit")
	if err != nil {
		return 0, errors.New("rootless: rootlesskit is not installed (as root, ./install.sh installs it)")
	}
	ctrd, err := exec.LookPath("containerd")
	if err != nil {
		return 0, errors.New("rootless: containerd is not installed (as root, ./install.sh installs it)")
	}
	for _, dir := range []string{d.Root, filepath.Join(d.Dir, "containerd")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, fmt.Errorf("rootless: %w", err)
		}
	}
	os.RemoveAll(d.StateDir()) // a dead rootlesskit's; it wants to make it
	os.Remove(d.Address())
	os.Remove(d.cgroupPath())
	if err := os.WriteFile(d.configPath(), []byte(d.config()), 0o600); err != nil {
		return 0, fmt.Errorf("rootless: %w", err)
	}
	args := []string{
		"--state-dir=" + d.StateDir(),
		"--net=" + netDriver,
		"--mtu=65520",
		// Containers reach the host's own services through its public
		// address, never through its loopback: as docker's rootless mode.
		"--disable-host-loopback",
		"--port-driver=builtin",
		"--detach-netns",
		"--copy-up=/etc", "--copy-up=/run",
		o.Self, "system", "rootless", "__child", ctrd, d.configPath(), d.cgroupPath(),
	}
	if netDriver == "slirp4netns" {
		args = append([]string{"--slirp4netns-sandbox=auto", "--slirp4netns-seccomp=auto"}, args...)
	}
	if o.Foreground {
		self := os.Getpid()
		if err := os.WriteFile(d.pidPath(), []byte(fmt.Sprintf("%d %d\n", self, proc.Start(self))), 0o600); err != nil {
			return 0, fmt.Errorf("rootless: %w", err)
		}
		return 0, fmt.Errorf("rootless: run %s: %w", kit, syscall.Exec(kit, append([]string{"rootlesskit"}, args...), os.Environ()))
	}
	logf, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("rootless: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(kit, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	// Its own session: the daemon outlives this command and its terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("rootless: start rootlesskit: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	if err := os.WriteFile(d.pidPath(), []byte(fmt.Sprintf("%d %d\n", pid, proc.Start(pid))), 0o600); err != nil {
		cmd.Process.Kill()
		return 0, fmt.Errorf("rootless: %w", err)
	}
	// A kill here leaves a daemon coming up with no one waiting for it:
	// the next command waits for it instead of starting another.
	crash.Point("rootless-started")
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-exited:
			os.Remove(d.pidPath())
			return 0, fmt.Errorf("rootless: rootlesskit exited at start (%v):\n%s\n(the whole log is %s)", err, text.LogTail(d.LogPath(), 8), d.LogPath())
		case <-ctx.Done():
			return 0, ctx.Err() // it goes on starting; the next command finds it
		case <-time.After(20 * time.Millisecond):
		}
		if child, ok := d.Running(); ok {
			return child, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("rootless: containerd did not answer at %s within %s; see %s", d.Address(), timeout, d.LogPath())
		}
	}
}

// config is containerd's configuration: everything under the daemon's own
// directories, and nothing that would reach for the host's (the CRI
// plugins, NRI's fixed socket).
func (d Daemon) config() string {
	return fmt.Sprintf(`# Written by lepton at each start of the rootless containerd.
version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri", "io.containerd.podsandbox.controller.v1.podsandbox"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.transfer.v1.local"]
  config_path = "/etc/containerd/certs.d"
`, d.Root, filepath.Join(d.Dir, "containerd"), d.Address(), d.Address()+".ttrpc")
}

// Stop stops the daemon and every process in its user namespace (shims,
// containers, buildkitd), and waits for them to go. A daemon that does not
// run is no error.
func (d Daemon) Stop(ctx context.Context) error {
	unlock, err := store.LockFile(ctx, filepath.Join(d.Dir, "start.lock"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // no run directory: nothing ever ran
		}
		return fmt.Errorf("rootless: %w", err)
	}
	defer unlock()
	return d.stopLocked()
}

func (d Daemon) stopLocked() error {
	pid, start, err := readPID(d.pidPath())
	if err != nil || !proc.Alive(pid, start) {
		os.Remove(d.pidPath())
		return nil
	}
	// The processes to end are those in the user namespace of
	// rootlesskit's child, named before anything is signalled. The file
	// held open keeps that namespace, and so its number, alive: the
	// kernel hands a dead namespace's number to the next one made, which
	// may be another daemon's.
	var userns string
	if child := d.child(pid); child != 0 {
		if f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", child)); err == nil {
			defer f.Close()
			userns, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		}
	}
	unix.Kill(pid, unix.SIGTERM)
	gone := func() bool { return !proc.Alive(pid, start) }
	waitUntil(gone, 10*time.Second)
	if !gone() {
		unix.Kill(pid, unix.SIGKILL)
		waitUntil(gone, 5*time.Second)
	}
	if userns != "" {
		for range 3 {
			left := inUserns(userns)
			if len(left) == 0 {
				break
			}
			for _, p := range left {
				unix.Kill(p, unix.SIGKILL)
			}
			waitUntil(func() bool { return len(inUserns(userns)) == 0 }, 5*time.Second)
		}
	}
	os.Remove(d.pidPath())
	os.Remove(d.Address())
	return nil
}

// inUserns lists the processes whose user namespace is userns (as
// readlink shows it: "user:[4026532840]").
func inUserns(userns string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/user"); err == nil && l == userns {
			out = append(out, pid)
		}
	}
	return out
}

func waitUntil(cond func() bool, d time.Duration) {
	for deadline := time.Now().Add(d); !cond() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// child is the PID of rootlesskit's child, or 0 if it does not run. The
// PID in rootlesskit's child_pid counts only while its parent is the
// rootlesskit running now: a file left by an earlier one may name a PID
// reused since, by anything, say another daemon's containerd, whose
// namespaces a command would then join and Stop would empty.
func (d Daemon) child(rootlesskit int) int {
	child, _, err := readPID(filepath.Join(d.StateDir(), "child_pid"))
	if err != nil || proc.Parent(child) != rootlesskit {
		return 0
	}
	return child
}

// readPID reads "PID [START]" from a pid file.
func readPID(path string) (pid int, start uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, 0, fmt.Errorf("%s is empty", path)
	}
	if pid, err = strconv.Atoi(f[0]); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(f) > 1 {
		start, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return pid, start, nil
}

// pickNet is the network driver to use: slirp4netns, the one rootlesskit
// driver that works with its API port driver. pasta works only with the
// "implicit" one, which forwards the ports a process listens on inside
// the namespace, and lepton's published ports are nftables rules there,
// with no listener, so it is refused with that reason.
func pickNet(want string) (string, error) {
	if want == "" {
		want = os.Getenv("LEPTON_ROOTLESS_NET")
	}
	switch want {
	case "", "slirp4netns":
		if _, err := exec.LookPath("slirp4netns"); err != nil {
			return "", errors.New("rootless: slirp4netns is not installed (as root: apt-get install slirp4netns, or ./install.sh)")
		}
		return "slirp4netns", nil
	case "pasta":
		return "", errors.New("rootless: pasta is not supported (LEPTON_ROOTLESS_NET=pasta): rootlesskit forwards ports with pasta only to processes listening in the namespace, and lepton publishes ports through nftables; use slirp4netns")
	}
	return "", fmt.Errorf("rootless: unknown network driver %q (LEPTON_ROOTLESS_NET): want slirp4netns", want)
}

// NetDriver is the network driver of a running daemon, from its
// command line, for info.
func (d Daemon) NetDriver() string {
	pid, _, err := readPID(d.pidPath())
	if err != nil {
		return ""
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	for _, a := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(a, "--net="); ok {
			return v
		}
	}
	return ""
}
