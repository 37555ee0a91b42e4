//go:build !windows

package containers

import (
	"os"
	"testing"

	"github.com/lepton-project/lepton/common/proc"
)

func TestClaimBusy(t *testing.T) {
	self, start := os.Getpid(), proc.Start(os.Getpid())
	for _, tc := range []struct {
		name string
		cl   Claim
		want bool
	}{
		{"this process creating", Claim{ID: "x", PID: self, PIDStart: start, Op: OpCreate}, true},
		{"this process done", Claim{ID: "x", PID: self, PIDStart: start}, false},
		{"a reused PID", Claim{ID: "x", PID: self, PIDStart: start + 1, Op: OpStart}, false},
		{"no start time recorded", Claim{ID: "x", PID: self, Op: OpStart}, false},
		{"no such process", Claim{ID: "x", PID: 1 << 30, PIDStart: 1, Op: OpCreate}, false},
	} {
		if got := tc.cl.Busy(); got != tc.want {
			t.Errorf("%s: Busy() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	if _, ok := decode([]byte(`{"ID":""}`)); ok {
		t.Error("a claim without an ID decoded as valid")
	}
	if _, ok := decode([]byte(`garbage`)); ok {
		t.Error("garbage decoded as a claim")
	}
	cl, ok := decode([]byte(`{"ID":"abc","PID":7,"Op":"start"}`))
	if !ok || cl.ID != "abc" || cl.PID != 7 || cl.Op != OpStart {
		t.Errorf("decode = %+v, %v", cl, ok)
	}
}
