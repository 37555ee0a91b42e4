//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/lepton-project/lepton/common/rootless"
	"github.com/lepton-project/lepton/internal/testimage"
)

// rootlessUser is the user the rootless group runs as: the test harness's,
// made here the same way if it is missing.
const rootlessUser = "lepton-rootless"

// benchRootless times the same commands as root, against the system's
// containerd, and as a user who is not root, against that user's rootless
// daemon, alternately: the ratio is what rootless mode costs (the re-exec
// into the namespaces, rootlesskit's network). The daemon's cold start is
// timed on its own.
func benchRootless(tmp, bindir, home, address string, runs int) error {
	fmt.Println()
	if os.Geteuid() != 0 {
		fmt.Println("rootless benchmarks skipped: they need root, to run as another user")
		return nil
	}
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", rootlessUser).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %v: %s", rootlessUser, err, out)
		}
		if u, err = user.Lookup(rootlessUser); err != nil {
			return err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	rl := filepath.Join(tmp, "rootless")
	for _, d := range []string{rl, filepath.Join(rl, "run"), filepath.Join(rl, "home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		os.Chown(d, uid, gid)
	}
	os.Chmod(tmp, 0o711)
	os.Chmod(filepath.Dir(bindir), 0o711)
	userEnv := []string{
		"PATH=" + bindir + ":" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(rl, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(rl, "run"),
		"XDG_DATA_HOME=" + filepath.Join(rl, "home", ".local", "share"),
		"LEPTON_SELF=" + filepath.Join(bindir, "lepton"),
	}
	d, err := rootless.For(func(k string) string {
		for _, kv := range userEnv {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	})
	if err != nil {
		return err
	}
	defer d.Stop(context.Background())
	lep := func(args ...string) []string { return append([]string{filepath.Join(bindir, "lepton")}, args...) }
	asUser := func(argv []string) (time.Duration, error) { return timeOnce(argv, userEnv, cred) }
	if _, err := asUser(lep("system", "rootless", "check")); err != nil {
		fmt.Printf("rootless benchmarks skipped: %v\n", err)
		return nil
	}

	// The same image on both sides.
	img, err := testimage.Busybox()
	if err != nil {
		return err
	}
	tar := filepath.Join(rl, "busybox.tar")
	if err := testimage.WriteOCI(img, tar, testimage.LocalName); err != nil {
		return err
	}
	os.Chown(tar, uid, gid)
	ctx := namespaces.WithNamespace(context.Background(), benchNS)
	c, err := containerd.New(address)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cleanNamespace(ctx, c)
	if out, err := exec.Command("ctr", "--address", address, "-n", benchNS, "images", "import", tar).CombinedOutput(); err != nil {
		return fmt.Errorf("import: %v: %s", err, out)
	}
	rootEnv := append(os.Environ(), "LEPTON_HOME="+home, "CONTAINERD_ADDRESS="+address, "CONTAINERD_NAMESPACE="+benchNS, "LEPTON_SELF="+filepath.Join(bindir, "lepton"))
	asRoot := func(argv []string) (time.Duration, error) { return timeOnce(argv, rootEnv, nil) }

	// Cold start: the first command of a user whose daemon is not running.
	var cold []time.Duration
	for range max(runs/5, 3) {
		if err := d.Stop(context.Background()); err != nil {
			return err
		}
		t, err := asUser(lep("volume", "ls"))
		if err != nil {
			return fmt.Errorf("rootless cold start: %w", err)
		}
		cold = append(cold, t)
	}
	sortDurations(cold)
	fmt.Printf("%-44s %10s %10s\n", "rootless first command (starts the daemon)", ms(cold[len(cold)/2]), ms(cold[len(cold)*9/10]))
	if _, err := asUser(lep("image", "load", "-i", tar)); err != nil {
		return err
	}

	for _, pr := range []struct {
		name string
		args []string
	}{
		{"lepton ps", []string{"ps"}},
		{"run --rm --network none IMG true", []string{"run", "--rm", "--network", "none", testimage.LocalName, "true"}},
		{"run --rm IMG true (bridge)", []string{"run", "--rm", testimage.LocalName, "true"}},
	} {
		var rs, us []time.Duration
		for i := 0; i < runs+2; i++ {
			r, err := asRoot(lep(pr.args...))
			if err != nil {
				return fmt.Errorf("%s as root: %w", pr.name, err)
			}
			u, err := asUser(lep(pr.args...))
			if err != nil {
				return fmt.Errorf("%s rootless: %w", pr.name, err)
			}
			if i >= 2 {
				rs, us = append(rs, r), append(us, u)
			}
		}
		sortDurations(rs)
		sortDurations(us)
		rm, um := rs[len(rs)/2], us[len(us)/2]
		fmt.Printf("%-44s %10s %10s\n", pr.name+" (root)", ms(rm), ms(rs[len(rs)*9/10]))
		fmt.Printf("%-44s %10s %10s  %.2fx root\n", pr.name+" (rootless)", ms(um), ms(us[len(us)*9/10]), float64(um)/float64(rm))
	}
	return nil
}

// timeOnce runs argv once, as cred's user if given, and times it.
func timeOnce(argv, env []string, cred *syscall.Credential) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return d, nil
}
