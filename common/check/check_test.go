package check

import (
	"errors"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		repair bool
		fix    func() error
		want   string
	}{
		{false, func() error { t.Fatal("a report without repair ran a fix"); return nil }, "volumes: orphan-dir /x: left over"},
		{true, func() error { return nil }, "volumes: orphan-dir /x: left over (repaired)"},
		{true, func() error { return errors.New("busy") }, "volumes: orphan-dir /x: left over (repair failed: busy)"},
		{true, nil, "volumes: orphan-dir /x: left over"},
	} {
		r := &Report{Area: "volumes", Repair: tc.repair}
		r.Add("orphan-dir", "/x", "left over", tc.fix)
		if len(r.Problems) != 1 {
			t.Fatalf("Add made %d problems, want 1", len(r.Problems))
		}
		if got := r.Problems[0].String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
