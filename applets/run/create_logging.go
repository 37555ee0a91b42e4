//go:build !windows

package run

import (
	"strings"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// logFlags are run and create's --log-driver and --log-opt.
type logFlags struct {
	LogDriver string   `long:"log-driver" value-name:"<DRIVER>" default:"json-file" description:"Logging driver: json-file, local (the same files, rotated by default) or none"`
	LogOpt    []string `long:"log-opt" value-name:"<KEY=VALUE>" description:"Logging driver option, one per flag: max-size=SIZE rotates the log at SIZE, max-file=N keeps N files"`
}

// plan checks the options and sets p.HostConfig.LogConfig. The checks
// themselves are containers.CheckLogConfig's, so the logging process that
// reads the config later cannot disagree with them.
func (f *logFlags) plan(p *containers.Plan) error {
	lc := containers.LogConfig{Type: f.LogDriver, Config: map[string]string{}}
	if lc.Type == "" {
		lc.Type = containers.LogJSONFile
	}
	for _, opt := range f.LogOpt {
		k, v, ok := strings.Cut(opt, "=")
		if !ok || k == "" {
			return cli.Usagef("bad --log-opt %q: want KEY=VALUE, such as max-size=10m", opt)
		}
		// Docker takes one option per flag (a value may hold commas), so
		// max-size=10m,max-file=3 is a mistake worth naming.
		if strings.Contains(v, ",") && strings.Contains(v, "=") && (k == "max-size" || k == "max-file") {
			return cli.Usagef("bad --log-opt %q: give one KEY=VALUE per --log-opt (--log-opt max-size=10m --log-opt max-file=3)", opt)
		}
		lc.Config[k] = v
	}
	if err := containers.CheckLogConfig(lc); err != nil {
		return cli.Usagef("%s", err)
	}
	p.HostConfig.LogConfig = lc
	return nil
}
