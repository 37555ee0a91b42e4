package main

// The rootless scripts (testscripts/rootless) run lepton as an unprivileged
// user the harness makes, against a rootless containerd each script's
// first lepton command starts, as a user's would: one daemon per script,
// in the script's own XDG_RUNTIME_DIR and XDG_DATA_HOME, stopped with
// everything in its user namespace when the script ends.
//
// The script's commands run as root, like every script's; the lepton
// binary drops to the user as it starts (LEPTON_TEST_AS), so lepton itself
// never runs as root there. The binary is linked into a directory the user
// may enter, since go test's own are root's alone.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lepton-project/lepton/common/rootless"
)

// testUserName is the unprivileged user the rootless scripts run as.
const testUserName = "lepton-rootless"

// asTestUserEnv is "UID:GID" to drop to at the start of a lepton process.
const asTestUserEnv = "LEPTON_TEST_AS"

// dropToTestUser makes this process the test user, if the harness asked:
// Go's Setuid and friends change every thread. The variable goes, so the
// lepton this one re-executes inside the user namespace (root there) does
// not try again.
func dropToTestUser() {
	v := os.Getenv(asTestUserEnv)
	if v == "" || os.Geteuid() != 0 {
		return
	}
	os.Unsetenv(asTestUserEnv)
	uid, gid, ok := strings.Cut(v, ":")
	u, err1 := strconv.Atoi(uid)
	g, err2 := strconv.Atoi(gid)
	if !ok || err1 != nil || err2 != nil {
		fmt.Fprintf(os.Stderr, "lepton test harness: bad %s=%q\n", asTestUserEnv, v)
		os.Exit(125)
	}
	for _, err := range []error{syscall.Setgroups(nil), syscall.Setgid(g), syscall.Setuid(u)} {
		if err != nil {
			fmt.Fprintf(os.Stderr, "lepton test harness: become uid %d: %v\n", u, err)
			os.Exit(125)
		}
	}
}

// rootlessWorld is what the rootless scripts share: the user and the
// directory holding the binary they run.
type rootlessWorld struct {
	uid, gid int
	bin      string // directory of lepton and its applet links
	why      string // why rootless scripts cannot run
}

var (
	rootlessOnce sync.Once
	theRootless  *rootlessWorld
)

// rootlessSetUp makes the test user (with subordinate ID ranges) and the
// binary directory, and checks rootless mode's prerequisites as the user.
func (w *world) rootlessSetUp() *rootlessWorld {
	rootlessOnce.Do(func() {
		r := &rootlessWorld{}
		theRootless = r
		if os.Geteuid() != 0 {
			r.why = "the rootless scripts need root, to make their user"
			return
		}
		u, err := user.Lookup(testUserName)
		if err != nil {
			// Debian's useradd gives the new user subordinate ID ranges.
			out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", testUserName).CombinedOutput()
			if err != nil {
				r.why = fmt.Sprintf("useradd %s: %v: %s", testUserName, err, out)
				return
			}
			if u, err = user.Lookup(testUserName); err != nil {
				r.why = err.Error()
				return
			}
		}
		r.uid, _ = strconv.Atoi(u.Uid)
		r.gid, _ = strconv.Atoi(u.Gid)
		r.bin = filepath.Join(w.dir, "rootless-bin")
		os.Chmod(w.dir, 0o711)
		if err := os.MkdirAll(r.bin, 0o755); err != nil {
			r.why = err.Error()
			return
		}
		self, err := os.Executable()
		if err == nil {
			err = linkOrCopy(self, filepath.Join(r.bin, "lepton"))
		}
		for name := range applets {
			if err == nil {
				err = os.Symlink("lepton", filepath.Join(r.bin, name))
			}
		}
		if err != nil {
			r.why = err.Error()
			return
		}
		cmd := exec.Command(filepath.Join(r.bin, "lepton"), "system", "rootless", "check")
		cmd.Env = []string{asTestUserEnv + "=" + u.Uid + ":" + u.Gid, "PATH=" + os.Getenv("PATH"), "HOME=" + u.HomeDir}
		if out, err := cmd.CombinedOutput(); err != nil {
			r.why = fmt.Sprintf("rootless mode's prerequisites are missing (./install.sh installs them; /dev/net/tun must be 0666):\n%s", out)
		}
	})
	return theRootless
}

// tearDown kills what the test user still runs: nothing should be left
// once each script's daemon is stopped, and the user is the harness's.
func (r *rootlessWorld) tearDown() {
	if r.uid == 0 {
		return
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if fs := strings.Fields(line); len(fs) > 1 && fs[0] == "Uid:" && fs[1] == strconv.Itoa(r.uid) {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	rootlessOnce, theRootless = sync.Once{}, nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return os.Chmod(dst, 0o755)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// setup turns a script's environment (as the other scripts have it) into
// a rootless user's: no containerd named, the namespace containerd's
// default, the work directory the user's, lepton dropping to the user, and
// the busybox archive where the user may read it.
func (r *rootlessWorld) setup(e *testscript.Env, busyboxTar string) error {
	work := e.WorkDir
	e.Setenv("CONTAINERD_ADDRESS", "")
	e.Setenv("CONTAINERD_NAMESPACE", "")
	e.Setenv("LEPTON_INIT", "")
	e.Setenv(asTestUserEnv, fmt.Sprintf("%d:%d", r.uid, r.gid))
	e.Setenv("LEPTON_SELF", filepath.Join(r.bin, "lepton"))
	e.Setenv("PATH", r.bin+string(os.PathListSeparator)+e.Getenv("PATH"))
	e.Setenv("TEST_UID", strconv.Itoa(r.uid))
	for _, d := range []string{"run", "home"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o700); err != nil {
			return err
		}
	}
	if busyboxTar != "" {
		if err := linkOrCopy(busyboxTar, filepath.Join(work, "busybox.tar")); err != nil {
			return err
		}
		e.Setenv("BUSYBOX_TAR", filepath.Join(work, "busybox.tar"))
	}
	// The user must reach the work directory through testscript's own.
	os.Chmod(filepath.Dir(work), 0o711)
	err := filepath.Walk(work, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, r.uid, r.gid)
	})
	if err != nil {
		return err
	}
	d := rootless.Daemon{Dir: filepath.Join(work, "run", "lepton", "rootless")}
	e.Defer(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	return nil
}
