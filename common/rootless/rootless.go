// Package rootless runs lepton for a user without root. It starts that
// user's own containerd under rootlesskit, in a user namespace where the
// user is root, and moves lepton's process into it and into its mount
// namespace, so every other package works as it does as root: bridges,
// nftables and network namespaces are made inside that user namespace,
// where the user may make them. The process keeps the host's network, as
// containerd does; package networks does its work on threads that join
// the containers' network namespace (Daemon.NetNS).
//
// The daemon is started on first use, under a lock, so any number of
// commands may race to start it. rootlesskit gives it:
//
//   - a user namespace that maps the user to root and their /etc/subuid
//     range to the other IDs;
//   - a mount namespace in which /etc and /run are writable copies;
//   - with --detach-netns, a network namespace of its own (reached through
//     slirp4netns) for the containers' bridges, while containerd
//     itself stays on the host's network, so it pulls from registries the
//     host reaches, 127.0.0.1 among them;
//   - a port driver: a published port is a listener of rootlesskit's on
//     the host that forwards to the container.
//
// Where it lives, for a user with XDG_RUNTIME_DIR=/run/user/1000 and
// XDG_DATA_HOME=~/.local/share:
//
//	/run/user/1000/lepton/rootless/      the running daemon (Dir)
//	├── containerd.toml                  written at each start
//	├── containerd.sock                  containerd's socket (Address)
//	├── containerd/                      containerd's state
//	├── rootlesskit/                     rootlesskit's state: child_pid, api.sock, netns
//	├── rootlesskit.pid                  the rootlesskit lepton started
//	├── cgroup                           where containers' cgroups go, if delegated (cgroup v2)
//	├── daemon.log                       what rootlesskit and containerd say
//	└── start.lock                       held while one lepton starts the daemon
//	~/.local/share/lepton/rootless/containerd/   containerd's root (Root): images, snapshots
//
// A lepton that entered the namespaces finds the daemon in its
// environment (LEPTON_ROOTLESS, see Current).
package rootless

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvDir names the run directory of the rootless daemon a lepton process
// works with. Enter sets it for the process it becomes; a process that has
// it and runs as root (in the user namespace) is inside.
const EnvDir = "LEPTON_ROOTLESS"

// Daemon is one user's rootless containerd: where it keeps what it has.
type Daemon struct {
	Dir  string // run directory; gone at reboot with XDG_RUNTIME_DIR
	Root string // containerd's root, which outlives reboots
}

// Address is the socket of the daemon's containerd.
func (d Daemon) Address() string { return filepath.Join(d.Dir, "containerd.sock") }

// StateDir is rootlesskit's state directory.
func (d Daemon) StateDir() string { return filepath.Join(d.Dir, "rootlesskit") }

// NetNS is the network namespace the containers' networks live in. It is
// a bind mount that only the daemon's mount namespace has.
func (d Daemon) NetNS() string { return filepath.Join(d.StateDir(), "netns") }

// APISocket is rootlesskit's API, which publishes ports on the host.
func (d Daemon) APISocket() string { return filepath.Join(d.StateDir(), "api.sock") }

// LogPath is where rootlesskit and containerd write what they say.
func (d Daemon) LogPath() string { return filepath.Join(d.Dir, "daemon.log") }

func (d Daemon) configPath() string { return filepath.Join(d.Dir, "containerd.toml") }
func (d Daemon) pidPath() string    { return filepath.Join(d.Dir, "rootlesskit.pid") }
func (d Daemon) cgroupPath() string { return filepath.Join(d.Dir, "cgroup") }

// CgroupParent is the cgroup (v2, relative to /sys/fs/cgroup) under which
// containers get their own, when the daemon found one delegated to the
// user at start; "" means none: there are no cgroups, and resource limits
// are refused.
func (d Daemon) CgroupParent() string {
	b, err := os.ReadFile(d.cgroupPath())
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// For is the rootless daemon of the calling user, from the environment:
// the run directory is $XDG_RUNTIME_DIR/lepton/rootless (else
// /run/user/UID, else $TMPDIR/lepton-UID, made private to the user) and
// the root $XDG_DATA_HOME/lepton/rootless/containerd (else
// ~/.local/share/...).
func For(getenv func(string) string) (Daemon, error) {
	run, err := runtimeDir(getenv)
	if err != nil {
		return Daemon{}, err
	}
	data := getenv("XDG_DATA_HOME")
	if data == "" {
		home := getenv("HOME")
		if home == "" {
			return Daemon{}, errors.New("rootless: neither XDG_DATA_HOME nor HOME is set: set one, for containerd's root")
		}
		data = filepath.Join(home, ".local", "share")
	}
	return Daemon{Dir: filepath.Join(run, "lepton", "rootless"), Root: filepath.Join(data, "lepton", "rootless", "containerd")}, nil
}

// runtimeDir is XDG_RUNTIME_DIR, or what stands in for it without
// logind: /run/user/UID when the user owns it, else a directory in TMPDIR
// that only the user may enter.
func runtimeDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		return x, nil
	}
	uid := os.Getuid()
	if d := "/run/user/" + strconv.Itoa(uid); ownedBy(d, uid) {
		return d, nil
	}
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	d := filepath.Join(tmp, fmt.Sprintf("lepton-%d", uid))
	if err := os.Mkdir(d, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("rootless: make a run directory (XDG_RUNTIME_DIR is not set): %w", err)
	}
	if !ownedBy(d, uid) {
		return "", fmt.Errorf("rootless: %s is not yours alone (owner or mode); remove it, or set XDG_RUNTIME_DIR", d)
	}
	return d, nil
}

// Current is the daemon this process works with, if it is a lepton that
// entered a rootless daemon's namespaces (or a process such a lepton
// started with its environment, as runc's hooks are).
func Current() (Daemon, bool) {
	dir := os.Getenv(EnvDir)
	if dir == "" || os.Geteuid() != 0 {
		return Daemon{}, false
	}
	return Daemon{Dir: dir}, true
}

// Wanted says whether a command run with this environment should go
// through the user's rootless daemon: the user is not root, has not named
// a containerd of their own (CONTAINERD_ADDRESS, --address) and has not
// turned rootless off with LEPTON_ROOTLESS=0.
func Wanted(getenv func(string) string, args []string) bool {
	if os.Geteuid() == 0 || getenv("CONTAINERD_ADDRESS") != "" || getenv(EnvDir) == "0" {
		return false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--address" || strings.HasPrefix(a, "--address=") {
			return false
		}
	}
	return true
}
