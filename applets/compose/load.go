//go:build !windows

package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"go.yaml.in/yaml/v4"

	"github.com/lepton-project/lepton/common/cli"
)

// load reads the project as docker compose does: -f files (else
// COMPOSE_FILE, else compose.yaml and its relatives found upward from the
// working directory, with their override file), the project directory's
// .env or --env-file for interpolation, -p or COMPOSE_PROJECT_NAME or the
// name: in the file or the directory's name, and --profile or
// COMPOSE_PROFILES. Interpolation sees the process environment first.
func (a *app) load(ctx context.Context) (*types.Project, error) {
	for _, f := range a.pf.Files {
		if f == "" {
			return nil, cli.Usagef("-f needs a file name")
		}
	}
	opts, err := composecli.NewProjectOptions(a.pf.Files,
		composecli.WithWorkingDirectory(a.pf.ProjectDir),
		composecli.WithOsEnv,
		composecli.WithEnvFiles(a.pf.EnvFiles...),
		composecli.WithDotEnv,
		unsetEmpty,
		composecli.WithConfigFileEnv,
		composecli.WithDefaultConfigPath,
		// Again, now that the project directory is known (compose.yaml
		// found upward): its .env, not the working directory's, counts.
		composecli.WithEnvFiles(a.pf.EnvFiles...),
		composecli.WithDotEnv,
		composecli.WithName(a.pf.Project),
		composecli.WithDefaultProfiles(a.pf.Profiles...),
	)
	if err != nil {
		return nil, loadError(err)
	}
	if len(opts.ConfigPaths) == 0 {
		wd, _ := opts.GetWorkingDir()
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf(
			"no compose file in %s or any directory above it: write a compose.yaml there, or name one with -f FILE", wd))
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, loadError(badFile(opts.ConfigPaths, err))
	}
	if len(p.Jobs) > 0 {
		return nil, refuse("jobs", "", "lepton-compose runs services only; make each job a service")
	}
	if len(p.Models) > 0 {
		return nil, refuse("models", "", "lepton has no model runner")
	}
	return p, nil
}

// unsetEmpty drops compose's own variables set to "": an empty
// COMPOSE_FILE means no list of files, as an unset one does.
func unsetEmpty(o *composecli.ProjectOptions) error {
	for _, k := range []string{"COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME", "COMPOSE_PATH_SEPARATOR"} {
		if v, ok := o.Environment[k]; ok && v == "" {
			delete(o.Environment, k)
		}
	}
	return nil
}

// badFile names the file a YAML syntax error is in: compose-go's
// message gives the line but not the file.
func badFile(paths []string, err error) error {
	if !strings.HasPrefix(err.Error(), "yaml:") {
		return err
	}
	for _, f := range paths {
		b, rerr := os.ReadFile(f)
		if rerr != nil {
			continue
		}
		var n yaml.Node
		if yerr := yaml.Unmarshal(b, &n); yerr != nil {
			return fmt.Errorf("%s: %w", f, yerr)
		}
	}
	return err
}

// loadError says that the project could not be read, keeping what
// compose-go said about where (file and line, variable, cycle).
func loadError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("read the compose project: %s: no such file", pe.Path))
	}
	return errdefs.ErrInvalidArgument.WithMessage("read the compose project: " + err.Error())
}

// selected is the project's services named in names (all when none),
// with an unknown name an error that lists the known ones.
func selected(p *types.Project, names []string) ([]string, error) {
	if len(names) == 0 {
		return p.ServiceNames(), nil
	}
	for _, n := range names {
		if _, ok := p.Services[n]; ok {
			continue
		}
		if _, ok := p.DisabledServices[n]; ok {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
				"service %q is in a profile that is not enabled: add --profile %s", n, strings.Join(p.DisabledServices[n].Profiles, " --profile ")))
		}
		known := p.ServiceNames()
		slices.Sort(known)
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such service: %s (the project has %s)", n, strings.Join(known, ", ")))
	}
	return names, nil
}

// selection is the project and the services named (all when none), for
// the commands that make or fetch something for them (up, create, run,
// build, pull, push): a service named on the command line is enabled
// even when its profile is not, as in docker compose.
func (a *app) selection(ctx context.Context, names []string) (*types.Project, []string, error) {
	p, err := a.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	var off []string
	for _, n := range names {
		if _, ok := p.DisabledServices[n]; ok {
			off = append(off, n)
		}
	}
	if len(off) > 0 {
		if p, err = p.WithServicesEnabled(off...); err != nil {
			return nil, nil, err
		}
	}
	names, err = selected(p, names)
	return p, names, err
}

// withDependencies is names and every service they depend on, directly
// or not.
func withDependencies(p *types.Project, names []string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if s, ok := p.Services[n]; ok {
			for dep := range s.DependsOn {
				walk(dep)
			}
		}
	}
	for _, n := range names {
		walk(n)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		if _, ok := p.Services[n]; ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// refuse is the error for a compose field lepton cannot honour: it names
// the field (and the service), so nothing is silently ignored.
func refuse(field, service, why string) error {
	where := ""
	if service != "" {
		where = "service " + service + ": "
	}
	return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("%s%s is not supported: %s", where, field, why))
}
