package system

import (
	"os"

	"golang.org/x/sys/unix"
)

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// cgroupVersion is "2" where /sys/fs/cgroup is the unified hierarchy and
// "1" where it holds v1 controllers (a hybrid host's v2 tree under
// unified/ holds no controllers lepton uses).
func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "2"
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err == nil {
		return "1"
	}
	return "none"
}
