//go:build !windows

package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/volumes"
)

// targets are the project and its containers of the named services,
// for the commands that work on what exists.
func (a *app) targets(ctx context.Context, services []string, oneoff bool) (*types.Project, *containers.Containers, []member, error) {
	p, err := a.load(ctx)
	if errdefs.IsNotFound(err) && a.pf.Project != "" && len(a.pf.Files) == 0 {
		// docker compose -p NAME down (ps, stop, ...) works without the
		// file: the project is what carries its label.
		p, err = &types.Project{Name: a.pf.Project, Services: types.Services{}}, nil
		if len(services) > 0 {
			return nil, nil, nil, errdefs.ErrInvalidArgument.WithMessage("services can be named only with the project's compose file: give -f FILE or run in its directory")
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := selected(p, services); err != nil {
		return nil, nil, nil, err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := members(ctx, cs.Client(), p.Name, oneoff)
	if err != nil {
		cs.Client().Close()
		return nil, nil, nil, err
	}
	return p, cs, ofServices(ms, services), nil
}

// inOrder runs fn on the members service by service, in dependency order
// (reverse for stopping), each service's containers in parallel.
// Services the file no longer has go first when reversed, last otherwise.
func inOrder(ctx context.Context, p *types.Project, ms []member, reverse bool, fn func(context.Context, member) error) error {
	by := map[string][]member{}
	for _, m := range ms {
		by[m.service] = append(by[m.service], m)
	}
	each := func(ctx context.Context, group []member) error {
		return forAll(group, func(m member) error { return fn(ctx, m) })
	}
	var orphans []member
	for svc, group := range by {
		if _, ok := p.Services[svc]; !ok {
			orphans = append(orphans, group...)
		}
	}
	if reverse {
		if err := each(ctx, orphans); err != nil {
			return err
		}
	}
	sub := *p
	sub.Services = types.Services{}
	for n, s := range p.Services {
		sub.Services[n] = s
	}
	var opts []func(*graph.Options)
	if reverse {
		opts = append(opts, graph.InReverseOrder)
	}
	var mu sync.Mutex
	var errs []error
	err := graph.InDependencyOrder(ctx, &sub, func(ctx context.Context, name string, _ types.ServiceConfig) error {
		if err := each(ctx, by[name]); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil
	}, opts...)
	if err != nil {
		return err
	}
	if !reverse {
		if err := each(ctx, orphans); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forAll runs fn on every member at once and joins their errors: one
// container that fails to stop does not cut short the others' stops.
func forAll(ms []member, fn func(member) error) error {
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = fn(m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

type serviceArgs struct {
	Services []string `positional-arg-name:"<SERVICE>" description:"Services to work on (default: all)"`
}

type stopCmd struct {
	cli.Command
	Timeout *int        `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait before killing (default: each container's stop_grace_period, else 10)"`
	Args    serviceArgs `positional-args:"yes"`
}

func (c *stopCmd) run(ctx context.Context, a *app, _ []string) error {
	p, cs, ms, err := a.targets(ctx, c.Args.Services, true)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	return inOrder(ctx, p, ms, true, func(ctx context.Context, m member) error {
		if !m.running() {
			return nil
		}
		if err := cs.Stop(ctx, m.info, containers.StopOptions{Timeout: seconds(c.Timeout)}); err != nil {
			return fmt.Errorf("stop %s: %w", m.name, err)
		}
		a.progress("Container %s  Stopped", m.name)
		return nil
	})
}

type startCmd struct {
	cli.Command
	Args serviceArgs `positional-args:"yes"`
}

func (c *startCmd) run(ctx context.Context, a *app, _ []string) error {
	p, cs, ms, err := a.targets(ctx, c.Args.Services, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	if len(ms) == 0 {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("project %s has no containers to start: make them with lepton compose up", p.Name))
	}
	return inOrder(ctx, p, ms, false, func(ctx context.Context, m member) error {
		return startMember(ctx, a, cs, m)
	})
}

func startMember(ctx context.Context, a *app, cs *containers.Containers, m member) error {
	if m.running() {
		return nil
	}
	ctr, err := cs.Client().LoadContainer(ctx, m.info.ID)
	if err != nil {
		return err
	}
	if _, _, err := cs.Start(ctx, ctr); err != nil {
		return fmt.Errorf("start %s: %w", m.name, err)
	}
	a.progress("Container %s  Started", m.name)
	return nil
}

type restartCmd struct {
	cli.Command
	Timeout *int        `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait before killing"`
	Args    serviceArgs `positional-args:"yes"`
}

func (c *restartCmd) run(ctx context.Context, a *app, _ []string) error {
	p, cs, ms, err := a.targets(ctx, nil, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	if len(c.Args.Services) > 0 {
		if _, err := selected(p, c.Args.Services); err != nil {
			return err
		}
		ms = ofServices(ms, withRestartDependents(p, c.Args.Services))
	}
	// A container that would not stop is left as it is; the others
	// start again all the same.
	var mu sync.Mutex
	stuck := map[string]bool{}
	stopErr := inOrder(ctx, p, ms, true, func(ctx context.Context, m member) error {
		if !m.running() {
			return nil
		}
		if err := cs.Stop(ctx, m.info, containers.StopOptions{Timeout: seconds(c.Timeout)}); err != nil {
			mu.Lock()
			stuck[m.info.ID] = true
			mu.Unlock()
			return fmt.Errorf("stop %s: %w", m.name, err)
		}
		return nil
	})
	startErr := inOrder(ctx, p, ms, false, func(ctx context.Context, m member) error {
		if stuck[m.info.ID] {
			return nil
		}
		m.state.Status = "exited"
		return startMember(ctx, a, cs, m)
	})
	return errors.Join(stopErr, startErr)
}

// withRestartDependents is names and, recursively, the services that
// depend on one of them with restart: true, which restart with it.
func withRestartDependents(p *types.Project, names []string) []string {
	out := slices.Clone(names)
	for changed := true; changed; {
		changed = false
		for n, s := range p.Services {
			if slices.Contains(out, n) {
				continue
			}
			for dep, d := range s.DependsOn {
				if d.Restart && slices.Contains(out, dep) {
					out = append(out, n)
					changed = true
					break
				}
			}
		}
	}
	return out
}

type killCmd struct {
	cli.Command
	Signal string      `short:"s" long:"signal" value-name:"<SIGNAL>" default:"SIGKILL" description:"Signal to send"`
	Args   serviceArgs `positional-args:"yes"`
}

func (c *killCmd) run(ctx context.Context, a *app, _ []string) error {
	sig, err := containers.ParseSignal(c.Signal)
	if err != nil {
		return err
	}
	_, cs, ms, err := a.targets(ctx, c.Args.Services, true)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	return forAll(ms, func(m member) error {
		if !m.running() {
			return nil
		}
		if err := cs.Kill(ctx, m.info, sig); err != nil {
			return fmt.Errorf("kill %s: %w", m.name, err)
		}
		a.progress("Container %s  Killed", m.name)
		return nil
	})
}

type rmCmd struct {
	cli.Command
	Force   bool        `short:"f" long:"force" description:"Do not ask for confirmation"`
	Stop    bool        `short:"s" long:"stop" description:"Stop running containers first"`
	Volumes bool        `short:"v" long:"volumes" description:"Remove the containers' anonymous volumes too"`
	Args    serviceArgs `positional-args:"yes"`
}

func (c *rmCmd) run(ctx context.Context, a *app, _ []string) error {
	p, cs, ms, err := a.targets(ctx, c.Args.Services, true)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	var todo []member
	for _, m := range ms {
		if m.running() && !c.Stop {
			continue
		}
		todo = append(todo, m)
	}
	if len(todo) == 0 {
		fmt.Fprintln(a.env.Stderr, "No stopped containers")
		return nil
	}
	if !c.Force {
		var names []string
		for _, m := range todo {
			names = append(names, m.name)
		}
		if !cli.Confirm(a.env, fmt.Sprintf("Going to remove %v", names)) {
			return nil
		}
	}
	return inOrder(ctx, p, todo, true, func(ctx context.Context, m member) error {
		if err := stopAndRemove(ctx, cs, m, nil, c.Volumes); err != nil {
			return err
		}
		a.progress("Container %s  Removed", m.name)
		return nil
	})
}

type pauseCmd struct {
	cli.Command
	Args serviceArgs `positional-args:"yes"`
}

func (c *pauseCmd) run(ctx context.Context, a *app, _ []string) error {
	return a.eachRunning(ctx, c.Args.Services, "Paused", func(ctx context.Context, cs *containers.Containers, m member) error {
		return cs.Pause(ctx, m.info, m.name)
	})
}

type unpauseCmd struct {
	cli.Command
	Args serviceArgs `positional-args:"yes"`
}

func (c *unpauseCmd) run(ctx context.Context, a *app, _ []string) error {
	return a.eachRunning(ctx, c.Args.Services, "Unpaused", func(ctx context.Context, cs *containers.Containers, m member) error {
		if m.state.Status != "paused" {
			return nil
		}
		return cs.Unpause(ctx, m.info, m.name)
	})
}

func (a *app) eachRunning(ctx context.Context, services []string, done string, fn func(context.Context, *containers.Containers, member) error) error {
	_, cs, ms, err := a.targets(ctx, services, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	return forAll(ms, func(m member) error {
		if !m.running() {
			return nil
		}
		if err := fn(ctx, cs, m); err != nil {
			return err
		}
		a.progress("Container %s  %s", m.name, done)
		return nil
	})
}

type downCmd struct {
	cli.Command
	Volumes       bool   `short:"v" long:"volumes" description:"Remove the project's named volumes and the containers' anonymous volumes"`
	Rmi           string `long:"rmi" value-name:"<local|all>" description:"Remove images: local (those built with no image: name) or all the services use"`
	RemoveOrphans bool   `long:"remove-orphans" description:"Remove containers of services the compose file no longer has"`
	Timeout       *int   `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait for containers to stop before killing them"`
}

func (d *downCmd) run(ctx context.Context, a *app, _ []string) error {
	switch d.Rmi {
	case "", "local", "all":
	default:
		return cli.Usagef("bad --rmi %q: want local or all", d.Rmi)
	}
	p, cs, ms, err := a.targets(ctx, nil, true)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	var todo, orphans []member
	fileless := len(p.ComposeFiles) == 0 // -p NAME alone: everything of NAME goes
	for _, m := range ms {
		if _, ok := p.Services[m.service]; !ok && !d.RemoveOrphans && !fileless {
			if _, disabled := p.DisabledServices[m.service]; !disabled {
				orphans = append(orphans, m)
				continue
			}
		}
		todo = append(todo, m)
	}
	if len(orphans) > 0 {
		var names []string
		for _, m := range orphans {
			names = append(names, m.name)
		}
		fmt.Fprintf(a.env.Stderr, "%s: found orphan containers (%v) of services the compose file no longer has: remove them with --remove-orphans\n", a.env.Name, names)
	}
	// Stops go in reverse dependency order; each container's removal
	// starts as soon as it has stopped, beside the next stops, since
	// nothing depends on the order of removals.
	var removals errgroup.Group
	err = inOrder(ctx, p, todo, true, func(sctx context.Context, m member) error {
		if m.running() {
			if err := cs.Stop(sctx, m.info, containers.StopOptions{Timeout: seconds(d.Timeout), ForRemove: true}); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("stop %s: %w", m.name, err)
			}
		}
		// The command's context: the stop's ends with its service.
		removals.Go(func() error {
			if err := cs.Remove(ctx, m.info.ID, containers.RemoveOptions{Kill: true, AnonVolumes: d.Volumes}); err != nil {
				return fmt.Errorf("remove %s: %w", m.name, err)
			}
			a.progress("Container %s  Removed", m.name)
			return nil
		})
		return nil
	})
	if rerr := removals.Wait(); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	var errs []error
	// Networks: the project's, by label, so that one the file no
	// longer declares goes too; still in use (an orphan), it stays.
	nets, err := cs.Networks().List(ctx)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Labels[labelProject] != p.Name {
			continue
		}
		if err := cs.Networks().Remove(ctx, n.Name); err != nil {
			if errdefs.IsFailedPrecondition(err) && len(orphans) > 0 {
				a.progress("Network %s  Kept: the orphan containers still use it", n.Name)
				continue
			}
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		a.progress("Network %s  Removed", n.Name)
	}
	if d.Volumes {
		vols, err := cs.Volumes().List(ctx)
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v.Labels[labelProject] != p.Name {
				continue
			}
			if err := cs.Volumes().Remove(ctx, v.Name, volumes.ContainerUsers(c)); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
				continue
			}
			a.progress("Volume %s  Removed", v.Name)
		}
	}
	if d.Rmi != "" {
		errs = append(errs, a.removeImages(ctx, c, p, d.Rmi == "all"))
	}
	if len(orphans) == 0 {
		os.RemoveAll(a.projectDir(p.Name))
	}
	return errors.Join(errs...)
}

// removeImages is down --rmi: the images built for services that name
// none (local), or every image the services use (all).
func (a *app) removeImages(ctx context.Context, c *containerd.Client, p *types.Project, all bool) error {
	var refs []string
	for _, s := range p.Services {
		if s.Image == "" || all {
			if ref, err := registry.Normalize(imageOf(p, s)); err == nil && !slices.Contains(refs, ref) {
				refs = append(refs, ref)
			}
		}
	}
	slices.Sort(refs)
	var errs []error
	for _, ref := range refs {
		if err := c.ImageService().Delete(ctx, ref); err != nil {
			if !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove image %s: %w", ref, err))
			}
			continue
		}
		a.progress("Image %s  Removed", ref)
	}
	return errors.Join(errs...)
}

// seconds is a -t value as Stop takes it; nil leaves each container's
// own stop timeout.
func seconds(n *int) *time.Duration {
	if n == nil {
		return nil
	}
	d := time.Duration(*n) * time.Second
	return &d
}
