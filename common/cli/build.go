//go:build !windows

package cli

import "github.com/lepton-project/lepton/common/build"

// BuildDaemon is the buildkitd lepton builds with: BUILDKIT_HOST's when
// it is set, else the one lepton runs for this data root, containerd and
// namespace (LEPTON_BUILDKITD names the binary to start).
func (g *Globals) BuildDaemon(env *Env) build.DaemonOptions {
	return build.DaemonOptions{
		Host:       env.Getenv("BUILDKIT_HOST"),
		Containerd: g.Address,
		Namespace:  g.Namespace,
		DataRoot:   g.DataRoot,
		Binary:     env.Getenv("LEPTON_BUILDKITD"),
	}
}
