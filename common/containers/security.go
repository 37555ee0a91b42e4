//go:build !windows

package containers

import (
	"fmt"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
)

// securitySpecOpts turns --security-opt into spec options. It is applied
// after --privileged: a privileged container gets no seccomp profile.
func securitySpecOpts(hc *HostConfig) ([]oci.SpecOpts, error) {
	noNewPriv, unconfined := false, false
	for _, o := range hc.SecurityOpt {
		switch o {
		case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
			noNewPriv = true
		case "seccomp=unconfined", "seccomp:unconfined":
			unconfined = true
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unsupported security option %q: lepton knows no-new-privileges and seccomp=unconfined", o))
		}
	}
	var opts []oci.SpecOpts
	if !hc.Privileged && !unconfined {
		opts = append(opts, seccomp.WithDefaultProfile())
	}
	if noNewPriv {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts, nil
}
