package rootless

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Prerequisite is one thing the rootless daemon needs, and whether the
// machine has it; Detail says what was found, or what to do.
type Prerequisite struct {
	What   string
	OK     bool
	Detail string
}

func (p Prerequisite) String() string {
	mark := "ok  "
	if !p.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %s: %s", mark, p.What, p.Detail)
}

// Check looks at what the rootless daemon needs, for the calling user:
// subordinate ID ranges, newuidmap and newgidmap, user namespaces,
// /dev/net/tun, rootlesskit, a network driver (net, or the first found),
// containerd and runc.
func Check(net string) []Prerequisite {
	var out []Prerequisite
	add := func(what string, ok bool, format string, a ...any) {
		out = append(out, Prerequisite{What: what, OK: ok, Detail: fmt.Sprintf(format, a...)})
	}
	uid := os.Getuid()
	if uid == 0 {
		add("user", false, "you are root, who needs no rootless mode: run lepton as the user who will use it")
		return out
	}
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		n, err := subordinateIDs(f, name, uid)
		switch {
		case err != nil:
			add(f, false, "%v", err)
		case n < 65536:
			add(f, false, "%s has %d subordinate IDs, want 65536 or more (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", name, n, name)
		default:
			add(f, true, "%s has %d subordinate IDs", name, n)
		}
	}
	for _, b := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(b)
		if err != nil {
			add(b, false, "not installed (as root: apt-get install uidmap)")
			continue
		}
		add(b, true, "%s", p)
	}
	if err := tryUserns(); err != nil {
		add("user namespaces", false, "cannot make one: %v (as root: sysctl -w kernel.unprivileged_userns_clone=1, or user.max_user_namespaces above 0; on Ubuntu, an AppArmor profile for rootlesskit)", err)
	} else {
		add("user namespaces", true, "an unprivileged user may make them")
	}
	if fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		add("/dev/net/tun", false, "cannot open it: %v (slirp4netns needs it; as root: chmod 0666 /dev/net/tun, the usual mode)", err)
	} else {
		unix.Close(fd)
		add("/dev/net/tun", true, "readable and writable")
	}
	if p, err := exec.LookPath("rootlesskit"); err != nil {
		add("rootlesskit", false, "not installed (as root, ./install.sh builds it)")
	} else if v := toolVersion(p); !atLeast(v, 2, 2) {
		add("rootlesskit", false, "%s is version %q; lepton needs 2.2 or newer, for --detach-netns (as root, ./install.sh builds it)", p, v)
	} else {
		add("rootlesskit", true, "%s %s", p, v)
	}
	if n, err := pickNet(net); err != nil {
		add("network driver", false, "%v", strings.TrimPrefix(err.Error(), "rootless: "))
	} else {
		add("network driver", true, "%s", n)
	}
	for _, b := range []string{"containerd", "runc"} {
		if p, err := exec.LookPath(b); err != nil {
			add(b, false, "not installed (as root, ./install.sh installs it)")
		} else {
			add(b, true, "%s", p)
		}
	}
	if !canEnter {
		add("lepton", false, "this lepton was built without cgo, which it needs to enter a user namespace (./install.sh builds it with cgo)")
	}
	return out
}

// subordinateIDs is how many IDs a subuid or subgid file gives the user
// (by name or number).
func subordinateIDs(path, name string, uid int) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read it: %v (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", err, name)
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || (p[0] != name && p[0] != strconv.Itoa(uid)) {
			continue
		}
		n, _ := strconv.Atoi(p[2])
		total += n
	}
	if total == 0 {
		return 0, fmt.Errorf("no range for %s (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", name, name)
	}
	return total, nil
}

// tryUserns makes a user namespace with a process that exits at once:
// the only sure test, since AppArmor or a sysctl may forbid it.
func tryUserns() error {
	bin, err := exec.LookPath("true")
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		return err
	}
	cmd.Wait()
	return nil
}

var versionRE = regexp.MustCompile(`(\d+)\.(\d+)(\.\d+)?`)

func toolVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	return versionRE.FindString(string(out))
}

func atLeast(v string, major, minor int) bool {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return a > major || (a == major && b >= minor)
}
