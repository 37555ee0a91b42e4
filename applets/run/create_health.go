//go:build !windows

package run

import (
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// healthFlags are run and create's healthcheck options; what they leave out
// comes from the image's HEALTHCHECK.
type healthFlags struct {
	HealthCmd           string `long:"health-cmd" value-name:"<COMMAND>" description:"Command (run by /bin/sh -c) that checks the container's health"`
	HealthInterval      string `long:"health-interval" value-name:"<DURATION>" description:"Time between checks (default 30s)"`
	HealthTimeout       string `long:"health-timeout" value-name:"<DURATION>" description:"Time a check may take before it counts as failed (default 30s)"`
	HealthRetries       int    `long:"health-retries" value-name:"<N>" description:"Failures in a row that make the container unhealthy (default 3)"`
	HealthStartPeriod   string `long:"health-start-period" value-name:"<DURATION>" description:"Time to start in, when failures do not count (default 0s)"`
	HealthStartInterval string `long:"health-start-interval" value-name:"<DURATION>" description:"Time between checks in the start period (default: the interval)"`
	NoHealthcheck       bool   `long:"no-healthcheck" description:"Run no healthcheck, not even the image's"`
}

func (f *healthFlags) plan(p *containers.Plan) error {
	given := f.HealthCmd != "" || f.HealthInterval != "" || f.HealthTimeout != "" || f.HealthRetries != 0 || f.HealthStartPeriod != "" || f.HealthStartInterval != ""
	if f.NoHealthcheck {
		if given {
			return cli.Usagef("--no-healthcheck conflicts with the --health-* options")
		}
		p.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"NONE"}}
		return nil
	}
	if !given {
		return nil // the image's, if it has one
	}
	hc := &dockerspec.HealthcheckConfig{Retries: f.HealthRetries}
	if f.HealthCmd != "" {
		hc.Test = []string{"CMD-SHELL", f.HealthCmd}
	}
	if f.HealthRetries < 0 {
		return cli.Usagef("bad --health-retries %d: want 0 or more", f.HealthRetries)
	}
	for _, d := range []struct {
		flag, val string
		to        *time.Duration
	}{
		{"--health-interval", f.HealthInterval, &hc.Interval},
		{"--health-timeout", f.HealthTimeout, &hc.Timeout},
		{"--health-start-period", f.HealthStartPeriod, &hc.StartPeriod},
		{"--health-start-interval", f.HealthStartInterval, &hc.StartInterval},
	} {
		if d.val == "" {
			continue
		}
		v, err := time.ParseDuration(d.val)
		if err != nil || v < 0 {
			return cli.Usagef("bad %s %q: want a duration such as 10s or 1m30s", d.flag, d.val)
		}
		// docker's floor: a check more often than every millisecond
		// would be the container's whole work.
		if v > 0 && v < time.Millisecond && d.flag != "--health-start-period" {
			return cli.Usagef("bad %s %q: at least 1ms", d.flag, d.val)
		}
		*d.to = v
	}
	p.Healthcheck = hc
	p.HealthFromFlags = true
	return nil
}
