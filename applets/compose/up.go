//go:build !windows

package compose

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// convergeFlags are what up and create share.
type convergeFlags struct {
	Build         bool     `long:"build" description:"Build images before starting, even when they exist"`
	NoBuild       bool     `long:"no-build" description:"Do not build images, even when they are missing"`
	Pull          string   `long:"pull" value-name:"<POLICY>" description:"Pull images: always, missing or never (default: each service's pull_policy)"`
	ForceRecreate bool     `long:"force-recreate" description:"Recreate containers even when their configuration has not changed"`
	NoRecreate    bool     `long:"no-recreate" description:"Keep existing containers even when their configuration changed"`
	RemoveOrphans bool     `long:"remove-orphans" description:"Remove containers of services the compose file no longer has"`
	Scale         []string `long:"scale" value-name:"<SERVICE=N>" description:"Run N containers of a service (repeatable)"`
	RenewAnon     bool     `short:"V" long:"renew-anon-volumes" description:"Give recreated containers new anonymous volumes"`
	Args          struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services to bring up (default: all), with what they depend on"`
	} `positional-args:"yes"`
}

type upCmd struct {
	cli.Command
	convergeFlags
	Detach       bool   `short:"d" long:"detach" description:"Start the containers and return"`
	NoDeps       bool   `long:"no-deps" description:"Do not start the services the named ones depend on"`
	NoStart      bool   `long:"no-start" description:"Create the containers without starting them"`
	Wait         bool   `long:"wait" description:"Wait until the containers are running, and healthy when they have a healthcheck (implies -d)"`
	WaitTimeout  int    `long:"wait-timeout" value-name:"<SECONDS>" description:"Give up --wait after this many seconds (default: no limit)"`
	Abort        bool   `long:"abort-on-container-exit" description:"Stop every container when one stops"`
	ExitCodeFrom string `long:"exit-code-from" value-name:"<SERVICE>" description:"Exit with this service's container's exit code (implies --abort-on-container-exit)"`
	NoColor      bool   `long:"no-color" description:"Print log prefixes without colour"`
	Timeout      *int   `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait for containers to stop when recreating or stopping"`
}

type createCmd struct {
	cli.Command
	convergeFlags
}

func (c *createCmd) run(ctx context.Context, a *app, _ []string) error {
	u := upCmd{convergeFlags: c.convergeFlags, NoStart: true, Detach: true}
	return u.run(ctx, a, nil)
}

func (u *upCmd) run(ctx context.Context, a *app, _ []string) error {
	if u.ForceRecreate && u.NoRecreate {
		return cli.Usagef("--force-recreate and --no-recreate contradict each other: give one")
	}
	if u.Build && u.NoBuild {
		return cli.Usagef("--build and --no-build contradict each other: give one")
	}
	switch u.Pull {
	case "", "always", "missing", "never":
	default:
		return cli.Usagef("bad --pull %q: want always, missing or never", u.Pull)
	}
	if u.ExitCodeFrom != "" {
		u.Abort = true
	}
	if u.Wait {
		u.Detach = true
	}
	if u.Detach && u.Abort {
		return cli.Usagef("-d and --abort-on-container-exit contradict each other: give one")
	}
	p, err := a.load(ctx)
	if err != nil {
		return err
	}
	names, err := selected(p, u.Args.Services)
	if err != nil {
		return err
	}
	if err := applyScale(p, u.Scale); err != nil {
		return err
	}
	if u.ExitCodeFrom != "" {
		if _, ok := p.Services[u.ExitCodeFrom]; !ok {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("--exit-code-from %s: no such service", u.ExitCodeFrom))
		}
	}
	if !u.NoDeps {
		names = withDependencies(p, names)
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
	e.forceRecreate, e.noRecreate, e.noStart, e.renewAnon, e.stopTimeout = u.ForceRecreate, u.NoRecreate, u.NoStart, u.RenewAnon, u.Timeout
	if err := a.orphans(ctx, cs, p, e.existing, u.RemoveOrphans); err != nil {
		return err
	}
	if err := a.prepareImages(ctx, cs, p, names, imagePolicy{build: u.Build, noBuild: u.NoBuild, pull: u.Pull}); err != nil {
		return err
	}
	if err := e.resources(ctx, names); err != nil {
		e.fail(ctx)
		return err
	}
	if err := e.up(ctx, names, u.NoDeps); err != nil {
		e.fail(ctx)
		if ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	if u.Wait {
		return e.waitReady(ctx, names, time.Duration(u.WaitTimeout)*time.Second)
	}
	if u.Detach {
		return nil
	}
	return a.foreground(ctx, cs, p, names, u)
}

// applyScale sets the scale of services from --scale SERVICE=N.
func applyScale(p *types.Project, scales []string) error {
	for _, sc := range scales {
		name, n, ok := strings.Cut(sc, "=")
		num, err := strconv.Atoi(n)
		if !ok || err != nil || num < 0 {
			return cli.Usagef("bad --scale %q: want SERVICE=N", sc)
		}
		s, ok := p.Services[name]
		if !ok {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("--scale %s: no such service", sc))
		}
		s.SetScale(num)
		p.Services[name] = s
	}
	return nil
}

// orphans are containers of services the file no longer has: removed
// with --remove-orphans, else named so the user knows.
func (a *app) orphans(ctx context.Context, cs *containers.Containers, p *types.Project, ms []member, remove bool) error {
	var names []string
	for _, m := range ms {
		if _, ok := p.Services[m.service]; ok {
			continue
		}
		if _, ok := p.DisabledServices[m.service]; ok {
			continue
		}
		if remove {
			if err := cs.Remove(ctx, m.info.ID, containers.RemoveOptions{Kill: true}); err != nil {
				return fmt.Errorf("remove orphan %s: %w", m.name, err)
			}
			fmt.Fprintf(a.env.Stderr, "Container %s  Removed\n", m.name)
			continue
		}
		names = append(names, m.name)
	}
	if len(names) > 0 {
		fmt.Fprintf(a.env.Stderr, "%s: found orphan containers (%s) of services the compose file no longer has: remove them with --remove-orphans\n", a.env.Name, strings.Join(names, ", "))
	}
	return nil
}

// waitReady is up --wait: every container of names running, and
// healthy when it has a healthcheck; a one-shot service that exited 0
// counts as ready.
func (e *engine) waitReady(ctx context.Context, names []string, timeout time.Duration) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range names {
		e.mu.Lock()
		ids := append([]string(nil), e.current[n]...)
		e.mu.Unlock()
		for _, id := range ids {
			g.Go(func() error {
				info, err := e.cs.Client().ContainerService().Get(gctx, id)
				if err != nil {
					return err
				}
				name := containers.ConfigOf(info).Name
				if !containers.HasHealthcheck(containers.ConfigOf(info).Healthcheck) {
					if running, _ := e.cs.Running(gctx, id); running {
						return nil
					}
					if code, err := e.cs.Wait(gctx, info); err == nil && code == 0 {
						return nil
					} else if err == nil {
						return fmt.Errorf("container %s exited with %d", name, code)
					}
					return fmt.Errorf("container %s is not running", name)
				}
				return e.waitHealthy(gctx, id, name, timeout)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("--wait: %w", err)
	}
	return nil
}

// foreground is up without -d: the containers' output, prefixed by
// container, until they all stop. Ctrl-C stops the project (a second
// Ctrl-C kills it); with --abort-on-container-exit the first container
// to stop stops the rest.
func (a *app) foreground(ctx context.Context, cs *containers.Containers, p *types.Project, names []string, u *upCmd) error {
	ms, err := members(ctx, cs.Client(), p.Name, false)
	if err != nil {
		return err
	}
	ms = ofServices(ms, names)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	work := context.WithoutCancel(ctx)
	logCtx, stopLogs := context.WithCancel(work)
	defer stopLogs()

	pr := newPrefixer(a.env.Stdout, a.env.Stderr, ms, !u.NoColor && cli.IsTerminal(a.env.Stdout))
	type exit struct {
		m    member
		code int
	}
	exits := make(chan exit, len(ms))
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs.ShowLog(logCtx, m.info.ID, pr.printer(m), -1, true)
			code := -1
			if logCtx.Err() == nil {
				if info, err := cs.Client().ContainerService().Get(work, m.info.ID); err == nil {
					if c, err := cs.Wait(work, info); err == nil {
						code = c
					}
				}
			}
			exits <- exit{m, code}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	stopAll := func(kill bool) {
		ctx := work
		cur, err := members(ctx, cs.Client(), p.Name, false)
		if err != nil {
			return
		}
		var g sync.WaitGroup
		for _, m := range ofServices(cur, names) {
			g.Add(1)
			go func() {
				defer g.Done()
				if !m.running() {
					return
				}
				if kill {
					if cs.Kill(ctx, m.info, syscall.SIGKILL) == nil {
						fmt.Fprintf(a.env.Stderr, "Container %s  Killed\n", m.name)
					}
				} else if cs.Stop(ctx, m.info, containers.StopOptions{Timeout: seconds(u.Timeout)}) == nil {
					fmt.Fprintf(a.env.Stderr, "Container %s  Stopped\n", m.name)
				}
			}()
		}
		g.Wait()
	}
	code := 0
	stopping, interrupted := false, false
	stopped := make(chan struct{})
	stop := func(kill bool) {
		if kill {
			fmt.Fprintln(a.env.Stderr, "Killing the project's containers")
			go func() { stopAll(true) }()
			return
		}
		stopping = true
		go func() { stopAll(false); close(stopped) }()
	}
	for {
		select {
		case <-sigs:
			if stopping {
				stop(true)
				continue
			}
			fmt.Fprintln(a.env.Stderr, "Gracefully stopping... (press Ctrl+C again to force)")
			interrupted = true
			stop(false)
		case ex := <-exits:
			fmt.Fprintf(a.env.Stdout, "%s exited with code %d\n", ex.m.name, ex.code)
			if u.ExitCodeFrom != "" && ex.m.service == u.ExitCodeFrom && ex.code >= 0 {
				code = ex.code
			}
			if u.Abort && !stopping {
				if u.ExitCodeFrom == "" && ex.code > 0 {
					code = ex.code
				}
				fmt.Fprintln(a.env.Stderr, "Aborting on container exit...")
				stop(false)
			}
		case <-stopped:
			stopLogs()
			<-allDone
			return exitCode(code, interrupted)
		case <-allDone:
			for len(exits) > 0 {
				ex := <-exits
				fmt.Fprintf(a.env.Stdout, "%s exited with code %d\n", ex.m.name, ex.code)
				if u.ExitCodeFrom != "" && ex.m.service == u.ExitCodeFrom && ex.code >= 0 {
					code = ex.code
				}
			}
			if stopping {
				<-stopped
			}
			return exitCode(code, interrupted)
		}
	}
}

// exitCode is how a foreground up ends: with --exit-code-from's (or
// --abort-on-container-exit's) code, else 130 when Ctrl-C stopped it, as
// a shell reports an interrupted command.
func exitCode(code int, interrupted bool) error {
	if code == 0 && interrupted {
		code = 130
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}
