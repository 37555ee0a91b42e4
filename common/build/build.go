//go:build !windows

package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerconfig "github.com/docker/cli/cli/config"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/lepton-project/lepton/common/registry"
)

// DanglingPrefix names an image built without a tag: DanglingPrefix@digest,
// which lepton image ls shows as <none> and image prune removes.
const DanglingPrefix = "lepton-build"

// Builder builds with one buildkitd into one containerd namespace. It
// connects to the daemon (starting it if need be) only when a build has
// been checked and is about to run, so bad input never starts a daemon.
type Builder struct {
	c        *containerd.Client
	daemon   DaemonOptions
	registry registry.Options

	mu sync.Mutex
	bk *bkclient.Client
}

// New returns a Builder for the daemon d describes. c is the containerd
// the daemon's worker uses, through which lepton fetches the images a
// Dockerfile starts from; reg says where registries are configured.
func New(c *containerd.Client, d DaemonOptions, reg registry.Options) *Builder {
	return &Builder{c: c, daemon: d, registry: reg}
}

// Client is the buildkitd client, connecting (and starting the daemon)
// the first time.
func (b *Builder) Client(ctx context.Context) (*bkclient.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bk != nil {
		return b.bk, nil
	}
	bk, err := Connect(ctx, b.daemon)
	if err != nil {
		return nil, err
	}
	b.bk = bk
	return bk, nil
}

// Close closes the buildkitd client, if there is one; the daemon runs on.
func (b *Builder) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bk == nil {
		return nil
	}
	return b.bk.Close()
}

// Options is one build, in docker build's terms.
type Options struct {
	Context    string // the context directory
	Dockerfile string // the Dockerfile; "" is Context/Dockerfile

	Tags      []string          // names for the image, as given (-t)
	Args      map[string]string // --build-arg
	Labels    map[string]string // --label
	Target    string            // --target: the stage to build
	Platforms []string          // --platform; none for this machine's
	NoCache   bool
	Pull      bool // fetch FROM images again even when the store has them

	Secrets   []Secret
	SSH       []SSH
	CacheFrom []Entry // type=local,src=DIR | type=registry,ref=REF
	CacheTo   []Entry // type=local,dest=DIR | type=registry,ref=REF | type=inline
	Outputs   []Entry // -o; none means an image named by Tags
	Network   string  // RUN's network: "default", "none" or "host"
	AddHosts  []string

	Progress     io.Writer // where progress goes; nil for none
	ProgressMode string    // auto, plain, tty, rawjson or quiet
	// Stdout is where a tar, oci or docker output with dest=- goes.
	Stdout io.Writer
}

// Result is what a build made.
type Result struct {
	Digest string   // the image's manifest digest, its ID in lepton image ls
	Names  []string // the names it was given in the store
}

// Build builds o. Nothing is tagged unless the whole build succeeds: the
// image exporter names the image as its last step.
func (b *Builder) Build(ctx context.Context, o Options) (*Result, error) {
	prep, err := b.prepare(o)
	if err != nil {
		return nil, err
	}
	if err := b.fetchBases(ctx, o, prep.df); err != nil {
		return nil, err
	}
	bk, err := b.Client(ctx)
	if err != nil {
		return nil, err
	}
	mode := o.ProgressMode
	switch {
	case o.Progress == nil:
		mode, o.Progress = "quiet", io.Discard
	case mode == "":
		mode = "auto"
	}
	if prep.note != "" && mode != "quiet" && mode != "rawjson" {
		fmt.Fprint(o.Progress, prep.note)
	}
	display, err := progressui.NewDisplay(o.Progress, progressui.DisplayMode(mode))
	if err != nil {
		return nil, fmt.Errorf("--progress %s: %v", mode, err)
	}
	ch := make(chan *bkclient.SolveStatus)
	shown := make(chan *bkclient.SolveStatus)
	logs := newStepLogs()
	var resp *bkclient.SolveResponse
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		resp, err = bk.Solve(gctx, nil, prep.solve, ch)
		return err
	})
	displayed := make(chan struct{})
	g.Go(func() error {
		defer close(shown)
		for s := range ch {
			logs.add(s)
			select {
			case shown <- s:
			case <-displayed: // the display gave up; Solve must still be read
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(displayed)
		_, err := display.UpdateFrom(context.WithoutCancel(gctx), shown)
		return err
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("build interrupted (%v): nothing was tagged", context.Cause(ctx))
		}
		return nil, logs.explain(err, prep.dockerfileName)
	}
	res := &Result{Digest: resp.ExporterResponse["containerimage.digest"], Names: prep.names}
	for _, name := range prep.push {
		img, err := b.c.ImageService().Get(ctx, name)
		if err != nil {
			return res, fmt.Errorf("push %s: %w", name, err)
		}
		po := registry.PushOptions{Registry: b.registry}
		if mode != "quiet" && mode != "rawjson" {
			po.Out = o.Progress
		}
		if err := registry.Push(ctx, b.c, img, po); err != nil {
			return res, fmt.Errorf("built, but not pushed: %w", err)
		}
		if po.Out != nil {
			fmt.Fprintf(po.Out, "Pushed: %s\n", name)
		}
	}
	return res, nil
}

// prepared is a build checked and turned into buildkit's terms.
type prepared struct {
	df             *Dockerfile
	dockerfileName string // as errors call it
	names          []string
	solve          bkclient.SolveOpt
	note           string   // for the progress, before the build
	push           []string // names to push once built
}

// builtinSyntax says whether a "# syntax=" directive names docker's own
// Dockerfile frontend, which buildkitd carries built in: fetching its
// image would make every such build need Docker Hub, offline ones fail.
func builtinSyntax(ref string) bool {
	name, err := registry.Normalize(ref)
	if err != nil {
		return false
	}
	repo, _, _ := strings.Cut(name, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "docker.io/docker/dockerfile" || repo == "docker.io/docker/dockerfile-upstream"
}

func (b *Builder) prepare(o Options) (*prepared, error) {
	fi, err := os.Stat(o.Context)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("build context %s: %v", o.Context, pathError(err)))
	}
	if !fi.IsDir() {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("build context %s is not a directory (give a directory, or - to read a tar from stdin)", o.Context))
	}
	dfPath := o.Dockerfile
	if dfPath == "" {
		dfPath = filepath.Join(o.Context, "Dockerfile")
	}
	src, err := os.ReadFile(dfPath)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Dockerfile %s: %v (name another with -f)", dfPath, pathError(err)))
	}
	p := &prepared{dockerfileName: filepath.Base(dfPath)}
	if p.df, err = ParseDockerfile(p.dockerfileName, src, o.Args); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	if err := p.df.CheckTarget(p.dockerfileName, o.Target); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	for _, t := range o.Tags {
		n, err := registry.Normalize(t)
		if err != nil || strings.Contains(n, "@") {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-t %s: not a valid image name (want NAME[:TAG])", t))
		}
		p.names = appendNew(p.names, n)
	}

	ctxFS, err := fsutil.NewFS(o.Context)
	if err != nil {
		return nil, err
	}
	dfFS, err := fsutil.NewFS(filepath.Dir(dfPath))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{
		"filename": filepath.Base(dfPath),
		// The FROM images are in the store by now (fetchBases): use them
		// as they are, with no registry call.
		"image-resolve-mode": "local",
	}
	if builtinSyntax(p.df.Syntax) && o.Args["BUILDKIT_SYNTAX"] == "" {
		// Any value of cmdline keeps buildkit's own Dockerfile frontend
		// from handing the build to the frontend image the directive names.
		attrs["cmdline"] = p.df.Syntax
		p.note = fmt.Sprintf("# syntax=%s: using buildkitd's built-in Dockerfile frontend (--build-arg BUILDKIT_SYNTAX=%s fetches that image instead)\n", p.df.Syntax, p.df.Syntax)
	}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	if o.NoCache {
		attrs["no-cache"] = ""
	}
	if len(o.Platforms) > 0 {
		attrs["platform"] = strings.Join(o.Platforms, ",")
	}
	for k, v := range o.Args {
		attrs["build-arg:"+k] = v
	}
	for k, v := range o.Labels {
		attrs["label:"+k] = v
	}
	switch o.Network {
	case "", "default":
	case "none", "host":
		attrs["force-network-mode"] = o.Network
	default:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--network %s: a build's RUN steps take none, host or default", o.Network))
	}
	if len(o.AddHosts) > 0 {
		hosts, err := addHosts(o.AddHosts)
		if err != nil {
			return nil, err
		}
		attrs["add-hosts"] = hosts
	}

	exports, push, err := exportsOf(o, p.names)
	if err != nil {
		return nil, err
	}
	p.push = push
	sess, err := b.attachables(o)
	if err != nil {
		return nil, err
	}
	p.solve = bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		Exports:       exports,
		CacheImports:  cacheEntries(o.CacheFrom),
		CacheExports:  cacheEntries(o.CacheTo),
		Session:       sess,
	}
	if o.Network == "host" {
		p.solve.AllowedEntitlements = []string{"network.host"}
	}
	return p, nil
}

// fetchBases makes sure every image the Dockerfile starts from is in the
// store, pulling what is missing (everything, with Pull) the way lepton
// pull does: through hosts.toml, with docker's credentials. buildkitd then
// finds them there ("image-resolve-mode": "local") and asks no registry.
func (b *Builder) fetchBases(ctx context.Context, o Options, df *Dockerfile) error {
	plats := o.Platforms
	if len(plats) == 0 {
		plats = []string{""}
	}
	for _, ref := range df.Images {
		name, err := registry.Normalize(ref)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("FROM %s: %v", ref, err))
		}
		if !o.Pull {
			if img, err := b.c.ImageService().Get(ctx, name); err == nil && hasPlatforms(ctx, b.c, img, plats) {
				continue
			}
		}
		for _, plat := range plats {
			po := registry.PullOptions{Registry: b.registry, Platform: plat}
			if o.Progress != nil && o.ProgressMode != "quiet" && o.ProgressMode != "rawjson" {
				po.Out = o.Progress
				fmt.Fprintf(po.Out, "Pulling %s for FROM %s\n", name, ref)
			}
			if _, err := registry.Pull(ctx, b.c, name, po); err != nil {
				return fmt.Errorf("FROM %s: %w", ref, err)
			}
		}
	}
	return nil
}

// hasPlatforms says whether the store holds img's config for each
// platform, which is what buildkit reads first of an image.
func hasPlatforms(ctx context.Context, c *containerd.Client, img images.Image, plats []string) bool {
	for _, p := range plats {
		m := platforms.Default()
		if p != "" {
			spec, err := platforms.Parse(p)
			if err != nil {
				return false
			}
			m = platforms.Only(spec)
		}
		if _, err := containerd.NewImageWithPlatform(c, img, m).Config(ctx); err != nil {
			return false
		}
	}
	return true
}

// attachables are what buildkitd may ask this process for during the
// build: registry credentials, secrets and SSH agents.
func (b *Builder) attachables(o Options) ([]session.Attachable, error) {
	cfg, err := dockerconfig.Load(b.registry.DockerConfig)
	if err != nil {
		return nil, fmt.Errorf("docker config in %s: %w", b.registry.DockerConfig, err)
	}
	atts := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfg),
	})}
	if len(o.Secrets) > 0 {
		var srcs []secretsprovider.Source
		for _, s := range o.Secrets {
			if s.File != "" {
				if _, err := os.Stat(s.File); err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret id=%s: %s: %v", s.ID, s.File, pathError(err)))
				}
			}
			if s.Env != "" {
				if _, ok := os.LookupEnv(s.Env); !ok {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret id=%s: the environment has no %s", s.ID, s.Env))
				}
			}
			srcs = append(srcs, secretsprovider.Source{ID: s.ID, FilePath: s.File, Env: s.Env})
		}
		store, err := secretsprovider.NewStore(srcs)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret: %v", err))
		}
		atts = append(atts, secretsprovider.NewSecretProvider(store))
	}
	if len(o.SSH) > 0 {
		var confs []sshprovider.AgentConfig
		for _, s := range o.SSH {
			confs = append(confs, sshprovider.AgentConfig{ID: s.ID, Paths: s.Paths})
		}
		p, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--ssh: %v (is SSH_AUTH_SOCK set?)", err))
		}
		atts = append(atts, p)
	}
	return atts, nil
}

func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file or directory")
		}
		return pe.Err
	}
	return err
}
