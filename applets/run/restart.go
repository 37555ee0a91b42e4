//go:build !windows

package run

import (
	"net/url"
	"strconv"

	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/containerd/containerd/v2/core/runtime/restart"
)

// Restart policies are carried out by containerd's restart monitor, so a
// container comes back after lepton has exited: the policy and the log URI
// go in labels the monitor reads, and start/stop flip its status label.
const (
	restartStatusLabel = restart.StatusLabel
	restartPolicyLabel = restart.PolicyLabel
	restartLogURILabel = restart.LogURILabel
)

func restartLabels(p RestartPolicy) map[string]string {
	switch p.Name {
	case "", "no":
		return nil
	case "on-failure":
		v := "on-failure"
		if p.MaximumRetryCount > 0 {
			v += ":" + strconv.Itoa(p.MaximumRetryCount)
		}
		return map[string]string{restartPolicyLabel: v}
	default:
		return map[string]string{restartPolicyLabel: p.Name}
	}
}

// logURI is the binary:// URI that makes the shim run lepton as the
// container's logging binary.
type logURI struct{ self, dir string }

func (l *logURI) String() string {
	u := url.URL{Scheme: "binary", Path: l.self, RawQuery: url.Values{"__log": {l.dir}}.Encode()}
	return u.String()
}

// logIO hands the process's output to lepton's logging binary. Unlike
// cio.BinaryIO it can ask for a terminal (run -dt), which the shim then
// copies to the logging binary as stdout.
func logIO(u *logURI, terminal bool) cio.Creator {
	return func(string) (cio.IO, error) {
		s := u.String()
		return &uriIO{cfg: cio.Config{Stdout: s, Stderr: s, Terminal: terminal}}, nil
	}
}

type uriIO struct{ cfg cio.Config }

func (u *uriIO) Config() cio.Config { return u.cfg }
func (u *uriIO) Cancel()            {}
func (u *uriIO) Wait()              {}
func (u *uriIO) Close() error       { return nil }
