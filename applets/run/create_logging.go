//go:build !windows

package run

import "github.com/lepton-project/lepton/common/containers"

// logFlags are run and create's --log-driver and --log-opt.
type logFlags struct{}

// plan checks the options and sets p.HostConfig.LogConfig.
func (f *logFlags) plan(p *containers.Plan) error { return nil }
