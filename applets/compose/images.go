//go:build !windows

package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/registry"
)

// imagePolicy is how up, create and run get the images of services:
// build (--build), never build (--no-build), and the --pull policy.
type imagePolicy struct {
	build, noBuild bool
	pull           string // "", always, missing or never
	progress       string // build progress mode
	quiet          bool
}

// prepareImages builds and pulls what the services in names need before
// any of their containers is made, so that a missing image fails the
// command before anything starts.
func (a *app) prepareImages(ctx context.Context, cs *containers.Containers, p *types.Project, names []string, pol imagePolicy) error {
	var toPull []types.ServiceConfig
	for _, n := range names {
		s := p.Services[n]
		ref := imageOf(p, s)
		have := imageDigest(ctx, cs.Client(), ref) != ""
		if s.Build != nil {
			switch {
			case pol.build || s.PullPolicy == types.PullPolicyBuild && !pol.noBuild || !have && !pol.noBuild:
				if err := a.buildService(ctx, cs, p, s, pol); err != nil {
					return err
				}
			case !have:
				return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("service %s: image %s is not built: run lepton compose build %s, or drop --no-build", s.Name, ref, s.Name))
			}
			continue
		}
		if s.Image == "" {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("service %s has neither image nor build: give it one", s.Name))
		}
		policy := pol.pull
		if policy == "" {
			policy = s.PullPolicy
		}
		switch policy {
		case types.PullPolicyAlways:
			toPull = append(toPull, s)
		case types.PullPolicyNever:
			if !have {
				return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("service %s: image %s is not in the store and pull_policy is never: pull it with lepton pull %s", s.Name, ref, ref))
			}
		default:
			if !have {
				toPull = append(toPull, s)
			}
		}
	}
	return a.pullServices(ctx, cs, p, toPull, pol.quiet, false)
}

// pullServices pulls the services' images in parallel (each image once).
func (a *app) pullServices(ctx context.Context, cs *containers.Containers, p *types.Project, ss []types.ServiceConfig, quiet, ignoreFailures bool) error {
	seen := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range ss {
		ref, err := registry.Normalize(imageOf(p, s))
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		g.Go(func() error {
			o := registry.PullOptions{Registry: a.g.Registry(), Platform: s.Platform}
			if !quiet {
				a.progress("Image %s  Pulling", ref)
			}
			if _, err := registry.Pull(gctx, cs.Client(), ref, o); err != nil {
				if ignoreFailures {
					a.progress("%s: service %s: pull %s: %v", a.env.Name, s.Name, ref, err)
					return nil
				}
				return fmt.Errorf("service %s: pull %s: %w", s.Name, ref, err)
			}
			if !quiet {
				a.progress("Image %s  Pulled", ref)
			}
			return nil
		})
	}
	return g.Wait()
}

// buildService builds s's image with lepton's build package (buildkitd,
// which lepton starts itself) and names it as up will look for it.
func (a *app) buildService(ctx context.Context, cs *containers.Containers, p *types.Project, s types.ServiceConfig, pol imagePolicy) error {
	b := s.Build
	why := map[string]bool{
		"dockerfile_inline":   b.DockerfileInline != "",
		"ssh":                 len(b.SSH) > 0,
		"cache_from":          len(b.CacheFrom) > 0,
		"cache_to":            len(b.CacheTo) > 0,
		"additional_contexts": len(b.AdditionalContexts) > 0,
		"secrets":             len(b.Secrets) > 0,
		"entitlements":        len(b.Entitlements) > 0,
		"privileged":          b.Privileged,
		"isolation":           b.Isolation != "",
		"shm_size":            b.ShmSize != 0,
		"ulimits":             len(b.Ulimits) > 0,
		"no_cache_filter":     len(b.NoCacheFilter) > 0,
		"provenance":          b.Provenance != "",
		"sbom":                b.SBOM != "",
	}
	var bad []string
	for k, v := range why {
		if v {
			bad = append(bad, "build."+k)
		}
	}
	slices.Sort(bad)
	if len(bad) > 0 {
		return refuse(strings.Join(bad, ", "), s.Name, "lepton-compose does not pass it to the build yet; build the image with lepton build and name it in image:")
	}
	o := build.Options{
		Context: b.Context, Dockerfile: b.Dockerfile, Target: b.Target, NoCache: b.NoCache, Pull: b.Pull,
		Network: b.Network, Tags: append([]string{imageOf(p, s)}, b.Tags...), Platforms: b.Platforms,
		Args: map[string]string{}, Labels: map[string]string{},
		Progress: a.env.Stderr, ProgressMode: pol.progress,
	}
	if o.ProgressMode == "" {
		o.ProgressMode = "auto"
	}
	if pol.quiet {
		o.ProgressMode = "quiet"
	}
	if o.Dockerfile != "" && !filepath.IsAbs(o.Dockerfile) {
		o.Dockerfile = filepath.Join(o.Context, o.Dockerfile)
	}
	for k, v := range b.Args {
		if v != nil {
			o.Args[k] = *v
		}
	}
	for k, v := range b.Labels {
		o.Labels[k] = v
	}
	o.Labels[labelProject] = p.Name
	o.Labels[labelService] = s.Name
	for host, ips := range b.ExtraHosts {
		for _, ip := range ips {
			o.AddHosts = append(o.AddHosts, host+":"+ip)
		}
	}
	if !pol.quiet {
		a.progress("Service %s  Building", s.Name)
	}
	if _, err := build.New(cs.Client(), a.g.BuildDaemon(a.env), a.g.Registry()).Build(ctx, o); err != nil {
		return fmt.Errorf("service %s: build: %w", s.Name, err)
	}
	if !pol.quiet {
		a.progress("Service %s  Built", s.Name)
	}
	return nil
}

type buildCmd struct {
	cli.Command
	NoCache  bool   `long:"no-cache" description:"Do not use the build cache"`
	Pull     bool   `long:"pull" description:"Fetch the FROM images again"`
	Quiet    bool   `short:"q" long:"quiet" description:"Print nothing but errors"`
	Progress string `long:"progress" value-name:"<MODE>" default:"auto" description:"Progress: auto, plain, tty, rawjson or quiet"`
	Args     struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services to build (default: every one with a build section)"`
	} `positional-args:"yes"`
}

func (b *buildCmd) run(ctx context.Context, a *app, _ []string) error {
	p, names, err := a.selection(ctx, b.Args.Services)
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	slices.Sort(names)
	for _, n := range names {
		s := p.Services[n]
		if s.Build == nil {
			continue
		}
		s.Build.NoCache = s.Build.NoCache || b.NoCache
		s.Build.Pull = s.Build.Pull || b.Pull
		if err := a.buildService(ctx, cs, p, s, imagePolicy{progress: b.Progress, quiet: b.Quiet}); err != nil {
			return err
		}
	}
	return nil
}

type pullCmd struct {
	cli.Command
	Quiet          bool `short:"q" long:"quiet" description:"Print nothing but errors"`
	IgnoreFailures bool `long:"ignore-pull-failures" description:"Pull what can be pulled and report the rest"`
	Args           struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services whose images to pull (default: all)"`
	} `positional-args:"yes"`
}

func (c *pullCmd) run(ctx context.Context, a *app, _ []string) error {
	p, names, err := a.selection(ctx, c.Args.Services)
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	var ss, buildable []types.ServiceConfig
	for _, n := range names {
		// A service that is built has nothing to pull, unless it names
		// an image that may be in a registry already; if it is not, the
		// build makes it, so that is no failure.
		switch s := p.Services[n]; {
		case s.Image == "":
		case s.Build != nil:
			buildable = append(buildable, s)
		default:
			ss = append(ss, s)
		}
	}
	if err := a.pullServices(ctx, cs, p, buildable, c.Quiet, true); err != nil {
		return err
	}
	return a.pullServices(ctx, cs, p, ss, c.Quiet, c.IgnoreFailures)
}

type pushCmd struct {
	cli.Command
	IgnoreFailures bool `long:"ignore-push-failures" description:"Push what can be pushed and report the rest"`
	Args           struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services whose images to push (default: every one with a build section and an image name)"`
	} `positional-args:"yes"`
}

func (c *pushCmd) run(ctx context.Context, a *app, _ []string) error {
	p, names, err := a.selection(ctx, c.Args.Services)
	if err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	cl := cs.Client()
	defer cl.Close()
	slices.Sort(names)
	for _, n := range names {
		s := p.Services[n]
		if s.Build == nil || s.Image == "" {
			continue
		}
		ref, err := registry.Normalize(s.Image)
		if err != nil {
			return err
		}
		img, err := cl.ImageService().Get(ctx, ref)
		if err == nil {
			a.progress("Image %s  Pushing", ref)
			err = registry.Push(ctx, cl, img, registry.PushOptions{Registry: a.g.Registry()})
		}
		if err != nil {
			if c.IgnoreFailures {
				a.progress("%s: service %s: push %s: %v", a.env.Name, s.Name, ref, err)
				continue
			}
			return fmt.Errorf("service %s: push %s: %w", s.Name, ref, err)
		}
		a.progress("Image %s  Pushed", ref)
	}
	return nil
}

type imagesCmd struct {
	cli.Command
	Quiet  bool   `short:"q" long:"quiet" description:"Print image IDs only"`
	Format string `long:"format" value-name:"<FORMAT>" description:"json, table, or a Go template"`
	Args   struct {
		Services []string `positional-arg-name:"<SERVICE>" description:"Services whose images to list (default: all)"`
	} `positional-args:"yes"`
}

type imageItem struct {
	ContainerName string
	Repository    string
	Tag           string
	ID            string
}

func (c *imagesCmd) run(ctx context.Context, a *app, _ []string) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	_, cs, ms, err := a.targets(ctx, c.Args.Services, false)
	if err != nil {
		return err
	}
	cl := cs.Client()
	defer cl.Close()
	var items []imageItem
	for _, m := range ms {
		repo, tag := m.info.Image, ""
		if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
			repo, tag = repo[:i], repo[i+1:]
		}
		id := ""
		if img, err := cl.ImageService().Get(ctx, m.info.Image); err == nil {
			id = img.Target.Digest.Encoded()[:12]
		}
		if c.Quiet {
			fmt.Fprintln(a.env.Stdout, id)
			continue
		}
		items = append(items, imageItem{ContainerName: m.name, Repository: repo, Tag: tag, ID: id})
	}
	if c.Quiet {
		return nil
	}
	return cli.Print(a.env.Stdout, c.Format, cli.Table{
		Headers: []string{"CONTAINER", "REPOSITORY", "TAG", "IMAGE ID"},
		Row:     "{{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}",
	}, items)
}
