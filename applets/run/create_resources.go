//go:build !windows

package run

import "github.com/lepton-project/lepton/common/containers"

// resourceFlags are run and create's cgroup, device, kernel and security
// options.
type resourceFlags struct{}

// plan checks the options and sets them on p.
func (f *resourceFlags) plan(p *containers.Plan) error { return nil }
