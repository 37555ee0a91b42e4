package rootless

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnterOptions says what the process becomes inside.
type EnterOptions struct {
	StartOptions
	// DataRoot is lepton's data root, resolved outside: inside, the process
	// is root and would otherwise take root's /var/lib/lepton.
	DataRoot string
}

// Enter starts the daemon if it does not run, then re-executes this
// program with the same arguments inside the daemon's user and mount
// namespaces, as root there: it returns only on failure. The process keeps
// its PID, streams, terminal and signals (a kill -9 of it is a kill of the
// command) and the host's network, as containerd does; package networks
// does its work on threads that join the containers' network namespace
// (NetNS).
//
// Inside, the environment names the daemon (LEPTON_ROOTLESS), its socket
// (CONTAINERD_ADDRESS) and the data root (LEPTON_HOME), so the command
// needs no flags to find them.
func (d Daemon) Enter(ctx context.Context, o EnterOptions) error {
	if err := ErrorAtEnter(); err != nil {
		return err // the constructor could not join; do not loop
	}
	if !canEnter {
		return errors.New("rootless: this lepton was built without cgo, which it needs to enter a user namespace (./install.sh builds it with cgo; or set CONTAINERD_ADDRESS to a containerd you may use)")
	}
	child, err := d.Start(ctx, o.StartOptions)
	if err != nil {
		return err
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, ns := range []string{"user", "mnt"} {
		// Without O_CLOEXEC: the descriptors must survive the exec.
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", child, ns), unix.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("rootless: open the daemon's %s namespace: %w", ns, err)
		}
		fds = append(fds, fd)
	}
	// The PID could have gone and come back as another process between the
	// check and the open: check again now the namespaces are held.
	if again, ok := d.Running(); !ok || again != child {
		return errors.New("rootless: the daemon stopped while this command entered it; run the command again")
	}
	env := os.Environ()
	set := func(k, v string) {
		for i, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				env[i] = k + "=" + v
				return
			}
		}
		env = append(env, k+"="+v)
	}
	set("_LEPTON_NSENTER", strconv.Itoa(fds[0])+":"+strconv.Itoa(fds[1]))
	set(EnvDir, d.Dir)
	set("CONTAINERD_ADDRESS", d.Address())
	if os.Getenv("LEPTON_HOME") == "" && o.DataRoot != "" {
		set("LEPTON_HOME", o.DataRoot)
	}
	// The link itself, not the path it shows: it opens the binary even
	// where the user may not walk the path to it.
	return fmt.Errorf("rootless: re-execute lepton: %w", syscall.Exec("/proc/self/exe", os.Args, env))
}

// ErrorAtEnter is what kept the constructor from joining the namespaces,
// if it tried and failed.
func ErrorAtEnter() error {
	if msg := os.Getenv("_LEPTON_NSENTER_ERROR"); msg != "" {
		return fmt.Errorf("rootless: cannot enter the daemon's namespaces: %s", msg)
	}
	return nil
}

// HookEnv is the environment a process that runc starts for a container
// (a network hook) needs to know the daemon it works for: runc gives hooks
// only the environment the spec names.
func (d Daemon) HookEnv() []string {
	return []string{EnvDir + "=" + d.Dir}
}

// Child is rootlesskit's child, inside the new namespaces as root: it
// makes lepton's and containerd's directories in /run its own (the
// copy-up left links to the host's there), hands the containers a cgroup
// of their own where cgroup v2 is delegated to the user, then becomes
// containerd.
func Child(containerd, config, cgroupFile string) error {
	for _, name := range []string{"containerd", "lepton", "buildkit", "runc", "netns"} {
		p := filepath.Join("/run", name)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("rootless child: %w", err)
			}
		}
		if err := os.MkdirAll(p, 0o711); err != nil {
			return fmt.Errorf("rootless child: %w", err)
		}
	}
	if parent := delegate(); parent != "" {
		os.WriteFile(cgroupFile, []byte(parent+"\n"), 0o644)
	}
	return syscall.Exec(containerd, []string{"containerd", "--config", config}, os.Environ())
}

// delegate prepares the user's cgroup v2 subtree for containers, where
// systemd (Delegate=yes) or the like gave it to the user: the processes
// already in it move to a leaf ("daemon"), since a cgroup with processes
// may not pass controllers down, and its controllers are enabled for
// the subtree. It returns the cgroup under which containers go, or "".
func delegate() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		return "" // cgroup v1: nothing an unprivileged user may use
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	own, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "0::")
	if !ok {
		return ""
	}
	dir := filepath.Join("/sys/fs/cgroup", own)
	if unix.Access(filepath.Join(dir, "cgroup.subtree_control"), unix.W_OK) != nil {
		return ""
	}
	leaf := filepath.Join(dir, "daemon")
	if err := os.MkdirAll(leaf, 0o755); err != nil {
		return ""
	}
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return ""
	}
	for _, pid := range strings.Fields(string(procs)) {
		os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0o644)
	}
	ctrls, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return ""
	}
	var enable []string
	for _, c := range strings.Fields(string(ctrls)) {
		enable = append(enable, "+"+c)
	}
	if len(enable) == 0 {
		return ""
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0o644); err != nil {
		return ""
	}
	return filepath.Join(own, "containers")
}
