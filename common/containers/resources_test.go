//go:build linux

package containers

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// raiseRTBudget on a made-up cgroup v1 cpu tree: the ancestors get what
// their other children hold plus the container's share, top down, and
// are never lowered; the root's budget is the limit.
func TestRaiseRTBudget(t *testing.T) {
	mnt := t.TempDir()
	cg := func(dir string, runtime, period int) {
		t.Helper()
		p := filepath.Join(mnt, dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, v := range map[string]int{"cpu.rt_runtime_us": runtime, "cpu.rt_period_us": period} {
			if err := os.WriteFile(filepath.Join(p, f), []byte(strconv.Itoa(v)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(dir string) string {
		b, _ := os.ReadFile(filepath.Join(mnt, dir, "cpu.rt_runtime_us"))
		return strings.TrimSpace(string(b))
	}
	cg(".", 950000, 1000000)
	cg("other", 100000, 1000000) // a sibling's budget counts against the root's
	cg("ns", 0, 1000000)
	cg("ns/peer", 20000, 500000) // 4% of its own period
	if err := raiseRTBudget(mnt, "/ns/ctr", 10000, 1000000); err != nil {
		t.Fatal(err)
	}
	if got := read("ns"); got != "50000" {
		t.Errorf("ns: cpu.rt_runtime_us %s, want 50000 (1%% for the container, 4%% its peer holds)", got)
	}
	// Deeper, and under a parent with enough already: left as it is.
	cg("big", 300000, 1000000)
	if err := raiseRTBudget(mnt, "/big/a/b/ctr", 100000, 1000000); err != nil {
		t.Fatal(err)
	}
	if got := [3]string{read("big"), read("big/a"), read("big/a/b")}; got != [3]string{"300000", "100000", "100000"} {
		t.Errorf("big, big/a, big/a/b: %v, want 300000 100000 100000", got)
	}
	// The root has 95%, of which the rest hold 10+5+30.
	err := raiseRTBudget(mnt, "/new/ctr", 600000, 1000000)
	if err == nil || !strings.Contains(err.Error(), "the host's realtime budget") {
		t.Errorf("more than the root has left: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "new")); err == nil {
		t.Error("a refused budget made the cgroup")
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"0", []int{0}, true}, {"0-2,5", []int{0, 1, 2, 5}, true}, {"3,3", []int{3}, true},
		{"", nil, false}, {"-1", nil, false}, {"2-1", nil, false}, {"0-", nil, false}, {"a", nil, false}, {"0,,1", nil, false},
	} {
		got, err := parseCPUList(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseCPUList(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("parseCPUList(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for _, n := range tt.want {
			if !got[n] {
				t.Errorf("parseCPUList(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}
