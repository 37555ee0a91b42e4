//go:build !windows

package containers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/proc"
)

// MountsRoot is where lepton mounts a stopped container's snapshot for a
// moment (cp): <data-root>/mounts/<namespace>.
func MountsRoot(dataRoot, namespace string) string {
	return filepath.Join(dataRoot, "mounts", namespace)
}

// NewMountpoint makes an empty directory under MountsRoot named for this
// process ("cp-<pid>-<start>-<random>"), so a mount left by a killed lepton
// has an owner whose death can be seen.
func NewMountpoint(dataRoot, namespace string) (string, error) {
	root := MountsRoot(dataRoot, namespace)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	pid := os.Getpid()
	return os.MkdirTemp(root, fmt.Sprintf("cp-%d-%d-", pid, proc.Start(pid)))
}

// checkMounts reports mountpoints whose process is gone; repair unmounts
// and removes them.
func checkMounts(d *Containers, r *check.Report) {
	root := MountsRoot(d.dataRoot, d.namespace)
	des, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, de := range des {
		f := strings.Split(de.Name(), "-")
		if len(f) < 4 {
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		start, _ := strconv.ParseUint(f[2], 10, 64)
		if pid > 0 && proc.Alive(pid, start) {
			continue
		}
		dir := filepath.Join(root, de.Name())
		r.Add("stale-mount", dir, "a container file system mounted by a lepton cp that was killed; repair unmounts and removes it", func() error {
			if err := mount.UnmountAll(dir, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return os.Remove(dir)
		})
	}
}

// TmpfsOptions are docker's defaults for a tmpfs (nosuid, nodev, noexec)
// with the user's options after them; exec, suid and dev lift a default.
func TmpfsOptions(user []string) []string {
	opts := []string{"nosuid", "nodev", "noexec"}
	for _, o := range user {
		switch o {
		case "":
		case "exec", "suid", "dev":
			opts = slices.DeleteFunc(opts, func(d string) bool { return d == "no"+o })
		default:
			if !slices.Contains(opts, o) {
				opts = append(opts, o)
			}
		}
	}
	return opts
}
