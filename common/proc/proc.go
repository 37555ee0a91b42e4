// Package proc tells whether a process lepton recorded is still the same
// process: a PID alone may have been reused.
package proc

import (
	"os"
	"strconv"
	"strings"
)

// Start is the start time of pid in clock ticks since boot (field 22
// of /proc/PID/stat), or 0 if there is no such process.
func Start(pid int) uint64 {
	return statField(pid, 19)
}

// Parent is the parent PID of pid (field 4 of /proc/PID/stat), or 0 if
// there is no such process.
func Parent(pid int) int {
	return int(statField(pid, 1))
}

// statField is field i of /proc/PID/stat counted from the state (field
// 3), as a number.
func statField(pid, i int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if j < 0 {
		return 0
	}
	f := strings.Fields(s[j+1:])
	if len(f) <= i {
		return 0
	}
	v, _ := strconv.ParseUint(f[i], 10, 64)
	return v
}

// Alive reports whether pid is running and started at start (a value from
// Start); a zero start accepts any process with that PID.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	now := Start(pid)
	return now != 0 && (start == 0 || now == start)
}
