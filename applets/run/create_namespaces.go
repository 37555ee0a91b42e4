//go:build !windows

package run

import "github.com/lepton-project/lepton/common/containers"

// nsFlags are run and create's namespace and sharing options.
type nsFlags struct{}

// plan checks the options and sets them on p.
func (f *nsFlags) plan(p *containers.Plan) error { return nil }
