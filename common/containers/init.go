//go:build !windows

package containers

import "github.com/containerd/containerd/v2/pkg/oci"

// withInit runs the container's command under lepton's init (--init).
func withInit(path string) oci.SpecOpts {
	_ = path
	return nil
}
