package leases

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/containerd/containerd/v2/core/leases"
)

func TestStale(t *testing.T) {
	self := Self()
	if self[LabelPIDStart] == "0" {
		t.Skip("no /proc here")
	}
	// A process that has certainly exited: its PID may be reused, but not
	// with the start time it had.
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	cmd.Wait()
	dead := map[string]string{}
	for k, v := range self {
		dead[k] = v
	}
	dead[LabelPID] = strconv.Itoa(cmd.Process.Pid)
	reused := map[string]string{}
	for k, v := range self {
		reused[k] = v
	}
	reused[LabelPIDStart] = "1" // this PID, but not this process
	otherBoot := map[string]string{}
	for k, v := range self {
		otherBoot[k] = v
	}
	otherBoot[LabelBoot] = "another-boot"
	otherNS := map[string]string{}
	for k, v := range dead {
		otherNS[k] = v
	}
	otherNS[LabelPIDNS] = "pid:[1]"
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"this process", self, false},
		{"an exited process", dead, true},
		{"a reused PID", reused, true},
		{"before a reboot", otherBoot, true},
		{"another PID namespace", otherNS, false},
		{"another tool's lease", map[string]string{"containerd.io/gc.expire": "x"}, false},
		{"a PID that is not a number", map[string]string{LabelPID: "x", LabelPIDNS: self[LabelPIDNS]}, false},
	} {
		got := Stale(leases.Lease{ID: "l", Labels: tt.labels})
		if got != tt.want {
			t.Errorf("Stale(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSelf(t *testing.T) {
	s := Self()
	if s[LabelPID] != strconv.Itoa(os.Getpid()) {
		t.Errorf("Self()[%s] = %q, want %d", LabelPID, s[LabelPID], os.Getpid())
	}
	if !IsLepton(leases.Lease{Labels: s}) {
		t.Errorf("IsLepton(Self()) = false, want true")
	}
}
