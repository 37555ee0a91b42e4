//go:build !windows

package compose

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
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
	Detach       bool     `short:"d" long:"detach" description:"Start the containers and return"`
	NoDeps       bool     `long:"no-deps" description:"Do not start the services the named ones depend on"`
	NoStart      bool     `long:"no-start" description:"Create the containers without starting them"`
	Wait         bool     `long:"wait" description:"Wait until the containers are running, and healthy when they have a healthcheck (implies -d)"`
	WaitTimeout  int      `long:"wait-timeout" value-name:"<SECONDS>" description:"Give up --wait after this many seconds (default: no limit)"`
	Abort        bool     `long:"abort-on-container-exit" description:"Stop every container when one stops"`
	ExitCodeFrom string   `long:"exit-code-from" value-name:"<SERVICE>" description:"Exit with this service's container's exit code (implies --abort-on-container-exit)"`
	NoColor      bool     `long:"no-color" description:"Print log prefixes without colour"`
	Attach       []string `long:"attach" value-name:"<SERVICE>" description:"Show this service's output (repeatable; default: the services named, else all)"`
	NoAttach     []string `long:"no-attach" value-name:"<SERVICE>" description:"Do not show this service's output (repeatable)"`
	AttachDeps   bool     `long:"attach-dependencies" description:"Show the output of the named services' dependencies too"`
	Timeout      *int     `short:"t" long:"timeout" value-name:"<SECONDS>" description:"Seconds to wait for containers to stop when recreating or stopping"`
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
	if u.Wait || u.NoStart {
		u.Detach = true
	}
	if u.Detach && u.Abort {
		return cli.Usagef("-d and --abort-on-container-exit contradict each other: give one")
	}
	p, names, err := a.selection(ctx, u.Args.Services)
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
	e.mu.Lock()
	ours := map[string]bool{}
	for _, ids := range e.current {
		for _, id := range ids {
			ours[id] = true
		}
	}
	e.mu.Unlock()
	return a.foreground(ctx, cs, p, names, ours, u)
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
			a.progress("Container %s  Removed", m.name)
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
				cfg := containers.ConfigOf(info)
				if !containers.HasHealthcheck(cfg.Healthcheck) {
					name := cfg.Name
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
				return e.waitHealthy(gctx, info, timeout)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("--wait: %w", err)
	}
	return nil
}

// foreground is up without -d: the attached containers' output, prefixed
// by container, until they all stop. Ctrl-C stops the project (a second
// Ctrl-C kills it); with --abort-on-container-exit the first container
// to stop stops the rest. A container with a restart policy is followed
// through its restarts, and its exits abort nothing.
func (a *app) foreground(ctx context.Context, cs *containers.Containers, p *types.Project, names []string, ours map[string]bool, u *upCmd) error {
	ms, err := members(ctx, cs.Client(), p.Name, false)
	if err != nil {
		return err
	}
	ms = ofServices(ms, u.attached(p, names))
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
		ours bool // this up started it (or kept it running): its exit counts
	}
	exits := make(chan exit, len(ms))
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := ours[m.info.ID]
			for tail := -1; ; tail = 0 {
				cs.ShowLog(logCtx, m.info.ID, pr.printer(m), tail, true)
				if logCtx.Err() != nil {
					return
				}
				info, err := cs.Client().ContainerService().Get(work, m.info.ID)
				if err != nil {
					exits <- exit{m, -1, mine}
					return
				}
				if running, _ := cs.Running(work, info.ID); running {
					continue // restarted already
				}
				code, err := cs.Wait(work, info)
				if err != nil {
					code = -1
				}
				policy := containers.ConfigOf(info).HostConfig.RestartPolicy
				if !policy.Restarts() || policy.Name == "on-failure" && code == 0 {
					exits <- exit{m, code, mine}
					return
				}
				// The restart monitor brings it back: follow it again.
				if !waitRunning(logCtx, cs, info.ID) {
					return
				}
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	var killers sync.WaitGroup
	stopAll := func(kill bool) {
		cur, err := members(work, cs.Client(), p.Name, false)
		if err != nil {
			return
		}
		forAll(ofServices(cur, names), func(m member) error {
			switch {
			case !m.running():
			case kill:
				if cs.Kill(work, m.info, syscall.SIGKILL) == nil {
					fmt.Fprintf(pr.stderr, "Container %s  Killed\n", m.name)
				}
			case cs.Stop(work, m.info, containers.StopOptions{Timeout: seconds(u.Timeout)}) == nil:
				fmt.Fprintf(pr.stderr, "Container %s  Stopped\n", m.name)
			}
			return nil
		})
	}
	code := 0
	record := func(ex exit) {
		fmt.Fprintf(pr.stdout, "%s exited with code %d\n", ex.m.name, ex.code)
		if u.ExitCodeFrom != "" && ex.m.service == u.ExitCodeFrom && ex.code >= 0 {
			code = ex.code
		}
	}
	stopping, interrupted, stopDone, finished := false, false, false, false
	stopped := make(chan struct{})
	stop := func() {
		stopping = true
		go func() { stopAll(false); close(stopped) }()
	}
	finish := func() error {
		for len(exits) > 0 {
			record(<-exits)
		}
		killers.Wait()
		return exitCode(code, interrupted)
	}
	for {
		select {
		case <-sigs:
			if stopping {
				fmt.Fprintln(pr.stderr, "Killing the project's containers")
				killers.Add(1)
				go func() { defer killers.Done(); stopAll(true) }()
				continue
			}
			fmt.Fprintln(pr.stderr, "Gracefully stopping... (press Ctrl+C again to force)")
			interrupted = true
			stop()
		case ex := <-exits:
			record(ex)
			if u.Abort && !stopping && ex.ours {
				if u.ExitCodeFrom == "" && ex.code > 0 {
					code = ex.code
				}
				fmt.Fprintln(pr.stderr, "Aborting on container exit...")
				stop()
			}
		case <-stopped:
			stopped, stopDone = nil, true
			if finished {
				return finish()
			}
			// Everything stopped: the logs end once drained, each with
			// its exit code; one that never ends is given up on.
			go func() {
				select {
				case <-allDone:
				case <-time.After(5 * time.Second):
					stopLogs()
				}
			}()
		case <-allDone:
			allDone, finished = nil, true
			if !stopping || stopDone {
				return finish()
			}
		}
	}
}

// attached are the services whose output foreground up shows: --attach,
// else the named services (with their dependencies under
// --attach-dependencies), else all; less --no-attach and services with
// attach: false.
func (u *upCmd) attached(p *types.Project, names []string) []string {
	want := names
	switch {
	case len(u.Attach) > 0:
		want = u.Attach
	case len(u.Args.Services) > 0 && !u.AttachDeps:
		want = u.Args.Services
	}
	var out []string
	for _, n := range want {
		s, ok := p.Services[n]
		if !ok || slices.Contains(u.NoAttach, n) || s.Attach != nil && !*s.Attach && !slices.Contains(u.Attach, n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// waitRunning waits until container id runs again, false if ctx ends
// first.
func waitRunning(ctx context.Context, cs *containers.Containers, id string) bool {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if running, _ := cs.Running(ctx, id); running {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
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
