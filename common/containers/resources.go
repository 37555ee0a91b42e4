//go:build !windows

package containers

import "github.com/containerd/containerd/v2/pkg/oci"

// Resources are a container's cgroup, device and kernel settings, as in
// docker's HostConfig (whose JSON they are flattened into).
type Resources struct{}

// specOpts turns the resources into spec options.
func (r *Resources) specOpts() ([]oci.SpecOpts, error) { return nil, nil }
