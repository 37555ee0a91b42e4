//go:build !windows

package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	bkclient "github.com/moby/buildkit/client"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/text"
)

// DaemonOptions says which buildkitd to talk to, or which to start.
type DaemonOptions struct {
	// Host is a running buildkitd to use as it is (BUILDKIT_HOST, say
	// unix:///run/buildkit/buildkitd.sock): lepton starts nothing then, and
	// images land wherever that daemon's worker puts them.
	Host string

	Containerd string // containerd socket the daemon's worker uses
	Namespace  string // containerd namespace the images land in
	DataRoot   string // lepton's data root; the daemon's state lives below it
	Binary     string // buildkitd to start; "" looks it up on PATH

	// StartTimeout bounds how long a starting daemon may take to answer;
	// 0 means 60 seconds.
	StartTimeout time.Duration
}

// Daemon is the buildkitd lepton runs for one data root, containerd and
// namespace: its socket, and the directory holding its root, pid file,
// log and configuration.
type Daemon struct {
	Address string // unix://...
	Dir     string // "" for a daemon lepton did not start
}

// LogPath is where the daemon writes what it says.
func (d Daemon) LogPath() string { return filepath.Join(d.Dir, "buildkitd.log") }

// PIDPath holds the daemon's process ID while it runs.
func (d Daemon) PIDPath() string { return filepath.Join(d.Dir, "buildkitd.pid") }

// DaemonFor is the daemon lepton uses for o, running or not.
//
// One daemon serves one containerd namespace, since buildkitd's containerd
// worker is bound to one: its state is DataRoot/buildkit/<namespace>. The
// socket lives in a short run directory instead (/run/lepton/buildkit as
// root, $XDG_RUNTIME_DIR/lepton/buildkit otherwise), named by a hash of the
// three, because a unix socket path may not be longer than 107 bytes.
func DaemonFor(o DaemonOptions) Daemon {
	if o.Host != "" {
		return Daemon{Address: o.Host}
	}
	sum := sha256.Sum256([]byte(o.DataRoot + "\x00" + o.Containerd + "\x00" + o.Namespace))
	return Daemon{
		Address: "unix://" + filepath.Join(runDir(), hex.EncodeToString(sum[:6])+".sock"),
		Dir:     filepath.Join(o.DataRoot, "buildkit", o.Namespace),
	}
}

func runDir() string {
	if os.Geteuid() != 0 {
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			return filepath.Join(x, "lepton", "buildkit")
		}
		return filepath.Join(os.TempDir(), fmt.Sprintf("lepton-%d", os.Geteuid()), "buildkit")
	}
	return "/run/lepton/buildkit"
}

// Connect returns a client of the daemon for o, starting the daemon first
// when lepton owns it and nothing answers. The daemon is left running for
// the next build. Any number of lepton processes may call Connect at once:
// starting happens under a lock in the daemon's directory, so exactly one
// of them starts it and the others wait for it to answer.
func Connect(ctx context.Context, o DaemonOptions) (*bkclient.Client, error) {
	d := DaemonFor(o)
	// Something listening on lepton's own socket is its daemon, up: a
	// buildkitd listens only once it can serve, and a dead one's socket
	// refuses. That costs a connect, not a round trip.
	if d.Dir != "" && listens(d.Address) {
		return bkclient.New(ctx, d.Address)
	}
	if c, err := dial(ctx, d.Address); err == nil {
		return c, nil
	} else if d.Dir == "" {
		return nil, fmt.Errorf("buildkitd at %s does not answer: %v (unset BUILDKIT_HOST to let lepton start its own)", d.Address, err)
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("buildkitd state directory: %w", err)
	}
	unlock, err := store.LockFile(ctx, filepath.Join(d.Dir, "start.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c, err := dial(ctx, d.Address); err == nil {
		return c, nil // another lepton started it while this one waited
	}
	if err := start(ctx, d, o); err != nil {
		return nil, err
	}
	return dial(ctx, d.Address)
}

// listens says whether a unix socket accepts connections.
func listens(address string) bool {
	conn, err := net.DialTimeout("unix", strings.TrimPrefix(address, "unix://"), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// dial connects and asks for the workers, the cheapest call that proves
// the daemon is up and has its containerd worker.
func dial(ctx context.Context, address string) (*bkclient.Client, error) {
	if path, ok := strings.CutPrefix(address, "unix://"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	c, err := bkclient.New(ctx, address)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, err := c.ListWorkers(cctx)
	if err == nil && len(ws) == 0 {
		err = errors.New("it has no worker")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start runs buildkitd in a session of its own, so it outlives this
// process and its terminal, and waits until it answers.
func start(ctx context.Context, d Daemon, o DaemonOptions) error {
	bin := o.Binary
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("cannot build: buildkitd %s: %v (LEPTON_BUILDKITD names it; unset it to use buildkitd on PATH)", bin, pathError(err))
		}
	} else {
		var err error
		if bin, err = exec.LookPath("buildkitd"); err != nil {
			return errors.New("cannot build: buildkitd is not installed (run ./install.sh, which builds it, or set BUILDKIT_HOST to a running buildkitd)")
		}
	}
	sock := strings.TrimPrefix(d.Address, "unix://")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		return fmt.Errorf("buildkitd socket directory: %w", err)
	}
	os.Remove(sock) // a dead daemon's socket; the lock says no live one owns it
	cfg := filepath.Join(d.Dir, "buildkitd.toml")
	if err := os.WriteFile(cfg, []byte(daemonConfig), 0o600); err != nil {
		return fmt.Errorf("buildkitd configuration: %w", err)
	}
	logf, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("buildkitd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin,
		"--config", cfg,
		"--addr", d.Address,
		"--root", filepath.Join(d.Dir, "root"),
		"--oci-worker=false",
		"--containerd-worker=true",
		"--containerd-worker-addr", o.Containerd,
		"--containerd-worker-namespace", o.Namespace,
		// RUN shares the host's network unless the Dockerfile or --network
		// says none: there is no CNI to give each step a bridge.
		"--containerd-worker-net", "host",
		"--allow-insecure-entitlement", "network.host",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(d.PIDPath(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("buildkitd pid file: %w", err)
	}
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-exited:
			os.Remove(d.PIDPath())
			return fmt.Errorf("buildkitd exited at start (%v): %s\n(its log is %s)", err, text.LogTail(d.LogPath(), 5), d.LogPath())
		case <-ctx.Done():
			return ctx.Err() // it goes on starting; the next build finds it
		case <-time.After(25 * time.Millisecond):
		}
		if c, err := dial(ctx, d.Address); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("buildkitd (pid %d) did not answer at %s within %s; see %s", cmd.Process.Pid, d.Address, timeout, d.LogPath())
		}
	}
}

// daemonConfig keeps buildkitd away from /etc/buildkit/buildkitd.toml,
// which may be set up for another daemon; everything else is on the
// command line.
const daemonConfig = `# Written by lepton at each start of this buildkitd.
[worker.oci]
  enabled = false
`

// Stop ends the daemon lepton started for o, if it runs, and waits up to
// ten seconds for it to go.
func Stop(o DaemonOptions) error {
	d := DaemonFor(o)
	if d.Dir == "" {
		return nil
	}
	b, err := os.ReadFile(d.PIDPath())
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !isBuildkitd(pid) {
		return nil
	}
	unix.Kill(pid, unix.SIGTERM)
	for range 400 {
		if !isBuildkitd(pid) {
			os.Remove(d.PIDPath())
			os.Remove(strings.TrimPrefix(d.Address, "unix://"))
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("buildkitd (pid %d) did not stop within 10s", pid)
}

// isBuildkitd says whether pid is a live buildkitd, so a pid file that
// outlived its daemon never makes lepton signal someone else.
func isBuildkitd(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
		return false
	}
	return filepath.Base(strings.SplitN(string(b), "\x00", 2)[0]) == "buildkitd"
}
