//go:build !windows

package containers

import (
	"context"
	"debug/elf"
	"fmt"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// InitPath is where --init mounts lepton in a container: docker's path
// for its init, so the container's PID 1 reads as it does under docker
// ("/sbin/docker-init -- CMD"). lepton dispatches the name docker-init to
// its lepton-init applet.
const InitPath = "/sbin/docker-init"

// withInit runs the container's command under lepton's init (--init): the
// static lepton binary at path, mounted read-only at InitPath, becomes
// PID 1 with the command as its child, as docker's --init does with tini.
func withInit(path string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if err := checkStatic(path); err != nil {
			return err
		}
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Args = append([]string{InitPath, "--"}, s.Process.Args...)
		s.Mounts = append(s.Mounts, specs.Mount{Destination: InitPath, Type: "bind", Source: path, Options: []string{"bind", "ro", "nosuid", "nodev"}})
		return nil
	}
}

// checkStatic makes sure the init can run in any image: a binary that
// needs a dynamic loader would fail in the container as a bare "no such
// file or directory".
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--init: %s is no binary lepton can mount as the init: %v", path, err))
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--init needs a statically linked lepton (built with CGO_ENABLED=0, as install.sh does); %s is dynamically linked", path))
		}
	}
	return nil
}
