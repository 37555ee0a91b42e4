//go:build !linux && !windows

package containers

import (
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var errSeccompLinuxOnly = errdefs.ErrNotImplemented.WithMessage("seccomp profiles are Linux's")

func defaultSeccomp(*specs.Spec) (*specs.LinuxSeccomp, error) { return nil, errSeccompLinuxOnly }

func loadSeccomp(string, *specs.Spec) (*specs.LinuxSeccomp, error) { return nil, errSeccompLinuxOnly }
