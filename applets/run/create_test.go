//go:build !windows

package run

import (
	"errors"
	"strings"
	"testing"

	"github.com/lepton-project/lepton/common/cli"
)

func TestParsePlanRefuses(t *testing.T) {
	env := &cli.Env{Getenv: func(string) string { return "" }}
	for _, tt := range []struct {
		name string
		f    createFlags
		want string
	}{
		{"empty -v source", createFlags{Volumes: []string{":/x"}}, `-v ":/x": the source is empty`},
		{"empty -v source, ro", createFlags{Volumes: []string{":/x:ro"}}, `-v ":/x:ro": the source is empty`},
		{"empty -v", createFlags{Volumes: []string{""}}, `-v "": empty`},
		{"--cpus NaN", createFlags{CPUs: "NaN"}, `bad --cpus "NaN": want a number of CPUs`},
		{"--cpus Inf", createFlags{CPUs: "Inf"}, `bad --cpus "Inf": want a number of CPUs`},
		{"--cpus -Inf", createFlags{CPUs: "-Inf"}, `bad --cpus "-Inf": want a number of CPUs`},
		{"--cpus -1", createFlags{CPUs: "-1"}, `bad --cpus "-1": the range is 0.01 to`},
		{"--cpus 0", createFlags{CPUs: "0"}, `bad --cpus "0": the range is 0.01 to`},
		{"--cpus 1e300", createFlags{CPUs: "1e300"}, `bad --cpus "1e300": the range is 0.01 to`},
		{"--cpus two", createFlags{CPUs: "two"}, `bad --cpus "two": want a number of CPUs`},
		{"--dns word", createFlags{DNS: []string{"notanip"}}, `bad --dns "notanip": want a name server's IP address`},
		{"--dns with a line", createFlags{DNS: []string{"1.1.1.1\nsearch evil"}}, `bad --dns "1.1.1.1\nsearch evil"`},
		{"--dns empty", createFlags{DNS: []string{""}}, `bad --dns ""`},
		{"--add-host word", createFlags{AddHost: []string{"db:nowhere"}}, `bad --add-host "db:nowhere"`},
		{"--add-host no host", createFlags{AddHost: []string{":10.0.0.1"}}, `bad --add-host ":10.0.0.1"`},
		{"--cap-add unknown", createFlags{CapAdd: []string{"FOO"}}, `bad --cap-add "FOO": no such capability`},
		{"--cap-add CAP_ unknown", createFlags{CapAdd: []string{"CAP_FOO"}}, `bad --cap-add "CAP_FOO": no such capability`},
		{"--cap-add empty", createFlags{CapAdd: []string{""}}, `bad --cap-add "": no such capability`},
		{"--cap-drop unknown", createFlags{CapDrop: []string{"NET_ADMIN", "FOO"}}, `bad --cap-drop "FOO": no such capability`},
		{"--cap-drop escape", createFlags{CapDrop: []string{"\x1b[31m"}}, `bad --cap-drop "\x1b[31m"`},
	} {
		f := tt.f
		_, err := parsePlan(env, &f, "localhost/busybox:latest", nil)
		var ue *cli.UsageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: parsePlan = %v, want a usage error holding %q", tt.name, err, tt.want)
		}
	}
}

func TestParsePlanAccepts(t *testing.T) {
	env := &cli.Env{Getenv: func(string) string { return "" }}
	for _, tt := range []struct {
		name string
		f    createFlags
	}{
		{"named volume", createFlags{Volumes: []string{"data:/data:ro"}}},
		{"bind", createFlags{Volumes: []string{"/tmp:/host-tmp"}}},
		{"anonymous volume", createFlags{Volumes: []string{"/cache"}}},
		{"--cpus", createFlags{CPUs: "0.5"}},
		{"--cpus smallest", createFlags{CPUs: "0.01"}},
		{"--cpus all", createFlags{CPUs: "1"}},
		{"--dns v4 and v6", createFlags{DNS: []string{"10.0.0.2", "2001:db8::53"}}},
		{"--add-host v6", createFlags{AddHost: []string{"db:10.1.2.3", "six:::1"}}},
		{"caps, every spelling", createFlags{CapAdd: []string{"NET_ADMIN", "cap_sys_time", "Cap_Bpf", "CHECKPOINT_RESTORE"}, CapDrop: []string{"all", "CAP_CHOWN"}}},
		{"--cap-add ALL", createFlags{CapAdd: []string{"ALL"}}},
	} {
		f := tt.f
		f.Pull = "missing"
		if _, err := parsePlan(env, &f, "localhost/busybox:latest", nil); err != nil {
			t.Errorf("%s: parsePlan = %v, want nil", tt.name, err)
		}
	}
}

func TestParseCPUsRange(t *testing.T) {
	for _, tt := range []struct {
		in   string
		have int
		want float64
		ok   bool
	}{
		{"2", 2, 2, true},
		{"2.01", 2, 0, false},
		{"1.5", 4, 1.5, true},
		{"0.009", 4, 0, false},
		{"nan", 4, 0, false},
		{"+Inf", 4, 0, false},
		{"0x1p-2", 4, 0.25, true},
	} {
		got, err := parseCPUs(tt.in, tt.have)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCPUs(%q, %d) = %v, %v; want %v, ok %v", tt.in, tt.have, got, err, tt.want, tt.ok)
		}
	}
}
