//go:build !windows

package compose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"path/filepath"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/mattn/go-shellwords"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type execCmd struct {
	cli.Command
	Detach     bool     `short:"d" long:"detach" description:"Start the command and return at once"`
	NoTTY      bool     `short:"T" long:"no-TTY" description:"Allocate no terminal (the default when standard input is not one)"`
	Env        []string `short:"e" long:"env" value-name:"<KEY=VALUE>" description:"Set an environment variable"`
	User       string   `short:"u" long:"user" value-name:"<USER[:GROUP]>" description:"User (name or UID) to run as"`
	Workdir    string   `short:"w" long:"workdir" value-name:"<DIR>" description:"Working directory inside the container"`
	Index      int      `long:"index" value-name:"<N>" default:"1" description:"Which container of the service"`
	Privileged bool     `long:"privileged" description:"Give the command every capability"`
}

func (c *execCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) >= 2 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...)
	}
	if len(rest) < 2 {
		return cli.Usagef("exec needs a service and a command: lepton compose exec [OPTIONS] SERVICE COMMAND [ARG...]")
	}
	env, err := envList(a, c.Env)
	if err != nil {
		return err
	}
	_, cs, ms, err := a.targets(ctx, rest[:1], false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	m, err := indexed(ms, rest[0], c.Index)
	if err != nil {
		return err
	}
	tty := !c.NoTTY && cli.IsTerminal(a.env.Stdin) && !c.Detach
	return runProcess(ctx, a, c.Detach, tty, func(at *containers.Attachment) (code int, err error) {
		o := containers.ExecOptions{Args: rest[1:], Env: env, Workdir: c.Workdir, User: c.User, TTY: tty, Privileged: c.Privileged}
		var creator cio.Creator = cio.NullIO
		if at != nil {
			creator = at.Creator
		}
		p, statusC, err := cs.Exec(ctx, m.info, m.name, o, creator)
		if err != nil {
			return 0, err
		}
		ctx := context.WithoutCancel(ctx)
		if at == nil {
			return 0, nil // detached: containerd deletes it with the task
		}
		defer p.Delete(ctx)
		at.Started(ctx, p)
		st, _ := at.Wait(ctx, p, statusC) // no detach keys: only an exit ends it
		c, _, err := st.Result()
		return int(c), err
	})
}

// runProcess attaches lepton's streams (unless detached), runs fn, and
// exits as the process did.
func runProcess(ctx context.Context, a *app, detach, tty bool, fn func(*containers.Attachment) (int, error)) error {
	var at *containers.Attachment
	if !detach {
		var err error
		at, err = containers.Attach(ctx, containers.AttachOptions{Stdin: a.env.Stdin, Stdout: a.env.Stdout, Stderr: a.env.Stderr, Interactive: true, TTY: tty})
		if err != nil {
			return err
		}
		defer at.Close()
	}
	code, err := fn(at)
	if err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}

// envList is -e KEY=VALUE as docker reads it (cli.ExpandEnv), with an
// empty name refused.
func envList(a *app, kvs []string) ([]string, error) {
	for _, kv := range kvs {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return nil, cli.Usagef("bad environment variable %q: the name is empty", kv)
		}
	}
	return cli.ExpandEnv(a.env, kvs), nil
}

type runCmd struct {
	cli.Command
	Detach       bool     `short:"d" long:"detach" description:"Start the container and print its name"`
	Rm           bool     `long:"rm" description:"Remove the container when it exits"`
	Name         string   `long:"name" value-name:"<NAME>" description:"Name the container (default PROJECT-SERVICE-run-ID)"`
	Env          []string `short:"e" long:"env" value-name:"<KEY=VALUE>" description:"Set an environment variable"`
	Entrypoint   *string  `long:"entrypoint" value-name:"<CMD>" description:"Override the entrypoint (split as a shell would)"`
	NoDeps       bool     `long:"no-deps" description:"Do not start the services this one depends on"`
	Publish      []string `short:"p" long:"publish" value-name:"<[IP:]HOST:CONTAINER>" description:"Publish a port (repeatable)"`
	ServicePorts bool     `short:"P" long:"service-ports" description:"Publish the service's ports too"`
	NoTTY        bool     `short:"T" long:"no-TTY" description:"Allocate no terminal (the default when standard input is not one)"`
	User         string   `short:"u" long:"user" value-name:"<USER[:GROUP]>" description:"User (name or UID) to run as"`
	Workdir      string   `short:"w" long:"workdir" value-name:"<DIR>" description:"Working directory inside the container"`
	Volumes      []string `short:"v" long:"volume" value-name:"<SRC:DST[:ro]>" description:"Bind-mount a host path or mount a named volume (repeatable)"`
	Labels       []string `short:"l" long:"label" value-name:"<KEY=VALUE>" description:"Add a label (repeatable)"`
	Build        bool     `long:"build" description:"Build the image first"`
	Pull         string   `long:"pull" value-name:"<POLICY>" description:"Pull the image: always, missing or never"`
}

func (c *runCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) >= 2 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...)
	}
	if len(rest) < 1 {
		return cli.Usagef("run needs a service: lepton compose run [OPTIONS] SERVICE [COMMAND] [ARG...]")
	}
	env, err := envList(a, c.Env)
	if err != nil {
		return err
	}
	labels, err := cli.ParseLabels(c.Labels)
	if err != nil {
		return err
	}
	svc := rest[0]
	p, _, err := a.selection(ctx, []string{svc})
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	e, err := a.newEngine(ctx, cs, p)
	if err != nil {
		return err
	}
	deps := []string{}
	if !c.NoDeps {
		for _, n := range withDependencies(p, []string{svc}) {
			if n != svc {
				deps = append(deps, n)
			}
		}
	}
	if err := a.prepareImages(ctx, cs, p, append(deps, svc), imagePolicy{build: c.Build, pull: c.Pull}); err != nil {
		return err
	}
	if err := e.resources(ctx, append(deps, svc)); err != nil {
		e.fail(ctx)
		return err
	}
	if err := e.up(ctx, deps, false); err != nil {
		e.fail(ctx)
		return err
	}
	if !c.NoDeps {
		for _, dep := range sortedKeys(p.Services[svc].DependsOn) {
			if err := e.waitFor(ctx, dep, p.Services[svc].DependsOn[dep].Condition); err != nil {
				return fmt.Errorf("service %s: %w", svc, err)
			}
		}
	}

	s := p.Services[svc]
	if len(rest) > 1 {
		s.Command = rest[1:]
	}
	if c.Entrypoint != nil {
		words, err := shellwords.Parse(*c.Entrypoint)
		if err != nil {
			return cli.Usagef("bad --entrypoint %q: %v", *c.Entrypoint, err)
		}
		s.Entrypoint = words
	}
	if !c.ServicePorts {
		s.Ports = nil
	}
	for _, pub := range c.Publish {
		ports, err := parsePorts(pub)
		if err != nil {
			return err
		}
		s.Ports = append(s.Ports, ports...)
	}
	for _, v := range c.Volumes {
		vol, err := parseVolume(p, v)
		if err != nil {
			return err
		}
		s.Volumes = append(s.Volumes, vol)
	}
	if c.User != "" {
		s.User = c.User
	}
	if c.Workdir != "" {
		s.WorkingDir = c.Workdir
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if s.Environment == nil {
			s.Environment = map[string]*string{}
		}
		s.Environment[k] = &v
	}
	// A one-off is not the service's container: no restart policy, no
	// container_name, and compose's oneoff label.
	s.Restart = ""
	if s.Deploy != nil {
		d := *s.Deploy
		d.RestartPolicy = nil
		s.Deploy = &d
	}
	s.ContainerName = ""
	tty := !c.NoTTY && cli.IsTerminal(a.env.Stdin) && !c.Detach
	s.Tty, s.StdinOpen = tty, !c.Detach
	name := c.Name
	if name == "" {
		b := make([]byte, 6)
		rand.Read(b)
		name = fmt.Sprintf("%s-%s-run-%s", p.Name, svc, hex.EncodeToString(b))
	}
	all := projectLabels(p)
	all[labelService] = svc
	all[labelOneoff] = "True"
	for k, v := range labels {
		all[k] = v
	}
	plan, err := servicePlan(e.planInput(s, name, imageOf(p, s), all))
	if err != nil {
		return err
	}
	ctr, err := cs.Create(ctx, plan, containers.ForStart())
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if c.Detach {
		if _, _, err := cs.Start(ctx, ctr); err != nil {
			cs.Remove(context.WithoutCancel(ctx), ctr.ID(), containers.RemoveOptions{Kill: true, AnonVolumes: true})
			return fmt.Errorf("start %s: %w", name, err)
		}
		fmt.Fprintln(a.env.Stdout, name)
		return nil
	}
	work := context.WithoutCancel(ctx)
	err = runProcess(ctx, a, false, tty, func(at *containers.Attachment) (int, error) {
		task, statusC, err := cs.Start(work, ctr, containers.WithIO(at.Creator))
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", name, err)
		}
		at.Started(work, task)
		st, _ := at.Wait(work, task, statusC)
		cs.Exited(work, ctr, task, st)
		code, _, err := st.Result()
		return int(code), err
	})
	if c.Rm {
		if rerr := cs.Remove(work, ctr.ID(), containers.RemoveOptions{Kill: true, AnonVolumes: true}); rerr != nil {
			fmt.Fprintf(a.env.Stderr, "%s: --rm: %v\n", a.env.Name, rerr)
		}
	}
	return err
}

// parsePorts is run -p: the short port syntax, read as compose-go reads
// ports: in a file.
func parsePorts(spec string) ([]types.ServicePortConfig, error) {
	ports, err := types.ParsePortConfig(spec)
	if err != nil {
		return nil, cli.Usagef("bad -p %q: %v", spec, err)
	}
	return ports, nil
}

// parseVolume is run -v: the short volume syntax; a relative host path
// starts at the project directory, and a named volume must be one the
// file declares.
func parseVolume(p *types.Project, spec string) (types.ServiceVolumeConfig, error) {
	v, err := format.ParseVolume(spec)
	if err != nil {
		return v, cli.Usagef("bad -v %q: %v", spec, err)
	}
	switch v.Type {
	case types.VolumeTypeBind:
		if !filepath.IsAbs(v.Source) {
			v.Source = filepath.Join(p.WorkingDir, v.Source)
		}
	case types.VolumeTypeVolume:
		if _, ok := p.Volumes[v.Source]; v.Source != "" && !ok {
			return v, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-v %s: volume %s is not declared under the top-level volumes: of the compose file", spec, v.Source))
		}
	}
	return v, nil
}
