//go:build linux

package rootless

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFor(t *testing.T) {
	d, err := For(env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "XDG_DATA_HOME": "/home/u/.data"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Dir, "/run/user/1000/lepton/rootless"; got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
	if got, want := d.Root, "/home/u/.data/lepton/rootless/containerd"; got != want {
		t.Errorf("Root = %q, want %q", got, want)
	}
	if got, want := d.Address(), "/run/user/1000/lepton/rootless/containerd.sock"; got != want {
		t.Errorf("Address = %q, want %q", got, want)
	}
	if got, want := d.NetNS(), "/run/user/1000/lepton/rootless/rootlesskit/netns"; got != want {
		t.Errorf("NetNS = %q, want %q", got, want)
	}

	d, err = For(env(map[string]string{"XDG_RUNTIME_DIR": "/r", "HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Root, "/home/u/.local/share/lepton/rootless/containerd"; got != want {
		t.Errorf("Root without XDG_DATA_HOME = %q, want %q", got, want)
	}
	if _, err := For(env(map[string]string{"XDG_RUNTIME_DIR": "/r"})); err == nil {
		t.Error("For without XDG_DATA_HOME and HOME: no error")
	}
}

// Without XDG_RUNTIME_DIR (no logind), the run directory is one in TMPDIR
// only the user may enter; one someone else could enter is refused.
func TestRunDirFallback(t *testing.T) {
	if _, err := os.Stat("/run/user/" + itoa(os.Getuid())); err == nil {
		t.Skip("/run/user/UID exists here, and wins")
	}
	tmp := t.TempDir()
	d, err := For(env(map[string]string{"TMPDIR": tmp, "HOME": "/h"}))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(tmp, "lepton-"+itoa(os.Getuid()), "lepton", "rootless")
	if d.Dir != want {
		t.Errorf("Dir = %q, want %q", d.Dir, want)
	}
	os.Chmod(filepath.Join(tmp, "lepton-"+itoa(os.Getuid())), 0o755)
	if _, err := For(env(map[string]string{"TMPDIR": tmp, "HOME": "/h"})); err == nil {
		t.Error("a run directory others may enter: no error")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestWanted(t *testing.T) {
	if os.Geteuid() == 0 {
		if Wanted(env(nil), nil) {
			t.Error("Wanted as root")
		}
		return
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, []string{"ps"}, true},
		{map[string]string{"CONTAINERD_ADDRESS": "/s"}, []string{"ps"}, false},
		{map[string]string{EnvDir: "0"}, []string{"ps"}, false},
		{nil, []string{"--address", "/s", "ps"}, false},
		{nil, []string{"--address=/s", "ps"}, false},
		{nil, []string{"run", "img", "--", "--address"}, true},
	} {
		if got := Wanted(env(tc.env), tc.args); got != tc.want {
			t.Errorf("Wanted(%v, %q) = %v, want %v", tc.env, tc.args, got, tc.want)
		}
	}
}

func TestSubordinateIDs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "subuid")
	os.WriteFile(f, []byte("alice:100000:65536\nbob:165536:1000\n1234:200000:70000\nbob:300000:1000\n"), 0o644)
	for _, tc := range []struct {
		name string
		uid  int
		want int
	}{
		{"alice", 1000, 65536},
		{"bob", 1001, 2000},
		{"carol", 1234, 70000},
	} {
		got, err := subordinateIDs(f, tc.name, tc.uid)
		if err != nil || got != tc.want {
			t.Errorf("subordinateIDs(%s) = %d, %v, want %d", tc.name, got, err, tc.want)
		}
	}
	if _, err := subordinateIDs(f, "dave", 999); err == nil {
		t.Error("no range for dave: no error")
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"2.3.6", true}, {"2.2.0", true}, {"2.1.9", false}, {"1.1.0", false}, {"3.0", true}, {"", false},
	} {
		if got := atLeast(tc.v, 2, 2); got != tc.want {
			t.Errorf("atLeast(%q, 2.2) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestReadPID(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pid")
	os.WriteFile(f, []byte("123 456\n"), 0o600)
	pid, start, err := readPID(f)
	if err != nil || pid != 123 || start != 456 {
		t.Errorf("readPID = %d, %d, %v, want 123, 456", pid, start, err)
	}
	os.WriteFile(f, []byte("77\n"), 0o600) // rootlesskit's child_pid
	if pid, start, err = readPID(f); err != nil || pid != 77 || start != 0 {
		t.Errorf("readPID = %d, %d, %v, want 77, 0", pid, start, err)
	}
	os.WriteFile(f, []byte("x"), 0o600)
	if _, _, err := readPID(f); err == nil {
		t.Error("readPID of garbage: no error")
	}
}

// A child_pid counts only while the rootlesskit named is its parent: a
// PID reused by anything else is no daemon's child.
func TestChildNeedsItsParent(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	d := Daemon{Dir: t.TempDir()}
	os.MkdirAll(d.StateDir(), 0o700)
	os.WriteFile(filepath.Join(d.StateDir(), "child_pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	if got := d.child(os.Getpid()); got != cmd.Process.Pid {
		t.Errorf("child of this process = %d, want %d", got, cmd.Process.Pid)
	}
	if got := d.child(os.Getppid()); got != 0 {
		t.Errorf("child of another parent = %d, want 0", got)
	}
	os.Remove(filepath.Join(d.StateDir(), "child_pid"))
	if got := d.child(os.Getpid()); got != 0 {
		t.Errorf("child with no child_pid = %d, want 0", got)
	}
}
