package cli

import "runtime/debug"

// Version is lepton's version, set at build time by install.sh
// (-ldflags "-X github.com/lepton-project/lepton/common/cli.Version=...").
var Version = ""

// ClientVersion is the version stamped by install.sh, else the module or
// VCS information Go recorded in the binary.
func ClientVersion() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
