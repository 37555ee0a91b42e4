package pid1

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/cli"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runs"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := &cli.Env{Getenv: func(string) string { return "/nonexistent:" + dir }}
	for _, tt := range []struct {
		name string
		want string
		code int
	}{
		{name: "runs", want: filepath.Join(dir, "runs")},
		{name: "./any/path", want: "./any/path"},
		{name: "plain", code: exitCannot},
		{name: "missing", code: exitNotFound},
	} {
		got, err := lookPath(env, tt.name)
		var ee *cli.ExitError
		switch {
		case tt.code == 0 && (err != nil || got != tt.want):
			t.Errorf("lookPath(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		case tt.code != 0 && (!errors.As(err, &ee) || ee.Code != tt.code):
			t.Errorf("lookPath(%q) = %q, %v; want exit %d", tt.name, got, err, tt.code)
		}
	}
}

func TestExitOf(t *testing.T) {
	for _, tt := range []struct {
		ws   unix.WaitStatus
		want int
	}{
		{0, 0},
		{3 << 8, 3},                          // exit 3
		{unix.WaitStatus(unix.SIGTERM), 143}, // killed by SIGTERM
		{unix.WaitStatus(unix.SIGKILL), 137},
	} {
		got := 0
		var ee *cli.ExitError
		if err := exitOf(tt.ws); errors.As(err, &ee) {
			got = ee.Code
		}
		if got != tt.want {
			t.Errorf("exitOf(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestForwarded(t *testing.T) {
	sigs := forwarded()
	for _, s := range []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCHLD, unix.Signal(40)} {
		if !slices.Contains(sigs, s) {
			t.Errorf("%v is not caught", s)
		}
	}
	for _, s := range []os.Signal{unix.SIGKILL, unix.SIGSTOP, unix.SIGSEGV} {
		if slices.Contains(sigs, s) {
			t.Errorf("%v is caught", s)
		}
	}
}
