package containers

import (
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The filter itself is made by docker's own code, which exists for Linux
// only (see withSeccompProfile).

func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	return seccomp.GetDefaultProfile(s)
}

func loadSeccomp(body string, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	return seccomp.LoadProfile(body, s)
}
