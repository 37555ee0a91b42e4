//go:build !windows

// Package build is lepton-build: docker build (and docker builder prune)
// on buildkit's Go client, through common/build, which also starts the
// buildkitd it talks to.
package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	flags "github.com/jessevdk/go-flags"

	builder "github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
)

// Main runs lepton-build with args (the applet name not included). The
// build command is the default: "lepton-build -t app ." builds, as
// "lepton-build build -t app ." does; "lepton-build prune" prunes.
func Main(ctx context.Context, env *cli.Env, args []string) error {
	if !namesCommand(args) {
		args = append([]string{"build"}, args...)
	}
	_, err := Parser(ctx, env).ParseArgs(args)
	return err
}

// namesCommand says whether args name one of lepton-build's commands:
// the first word after the global options must be one. Anything else
// (a build option, a context) is a build.
func namesCommand(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, _, hasValue := strings.Cut(a, "=")
		switch {
		case a == "-h" || a == "--help" || a == "__complete":
			return true
		case flag == "--address" || flag == "--namespace" || flag == "--data-root" || flag == "--hosts-dir":
			if !hasValue {
				i++
			}
		default:
			return a == "build" || a == "prune"
		}
	}
	return false
}

// Parser returns lepton-build's command line.
func Parser(ctx context.Context, env *cli.Env) *flags.Parser {
	opts := &struct {
		cli.Globals
		Build buildCmd `command:"build" description:"Build an image from a Dockerfile"`
		Prune pruneCmd `command:"prune" description:"Remove build cache"`
	}{}
	a := &app{env: env, g: &opts.Globals}
	p := cli.NewApplet(env, opts, func(c command, _ []string) error { return c.run(ctx, a) })
	p.ShortDescription = "Build images"
	return p
}

type command interface {
	run(ctx context.Context, a *app) error
}

type app struct {
	env *cli.Env
	g   *cli.Globals
}

// daemon is the buildkitd lepton uses: BUILDKIT_HOST's, else its own,
// started from LEPTON_BUILDKITD if set, else from buildkitd on PATH.
func (a *app) daemon() builder.DaemonOptions { return a.g.BuildDaemon(a.env) }

// builder connects to containerd and returns a Builder on it; done
// closes both. The buildkitd is connected to (or started) only when the
// builder first needs it.
func (a *app) builder(ctx context.Context) (*builder.Builder, func(), error) {
	client, err := a.g.Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	bld := builder.New(client, a.daemon(), a.g.Registry())
	return bld, func() { bld.Close(); client.Close() }, nil
}

type buildCmd struct {
	cli.Command
	Tags      []string `short:"t" long:"tag" value-name:"<NAME[:TAG]>" description:"Name the image (repeatable)"`
	File      string   `short:"f" long:"file" value-name:"<PATH>" description:"The Dockerfile (default CONTEXT/Dockerfile; - reads it from stdin)"`
	BuildArgs []string `long:"build-arg" value-name:"<KEY[=VALUE]>" description:"Set a build argument (KEY alone takes it from the environment)"`
	Target    string   `long:"target" value-name:"<STAGE>" description:"Build this stage of a multi-stage Dockerfile"`
	NoCache   bool     `long:"no-cache" description:"Run every step again, using no cache"`
	Pull      bool     `long:"pull" description:"Fetch the FROM images again even when the store has them"`
	Platform  []string `long:"platform" value-name:"<OS/ARCH>" description:"Build for this platform (repeatable, or comma-separated)"`
	Labels    []string `long:"label" value-name:"<KEY=VALUE>" description:"Set a label on the image"`
	Secrets   []string `long:"secret" value-name:"<SPEC>" description:"Expose a secret to RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR"`
	SSH       []string `long:"ssh" value-name:"<ID[=SOCKET]>" description:"Expose an SSH agent to RUN --mount=type=ssh: default is $SSH_AUTH_SOCK"`
	IIDFile   string   `long:"iidfile" value-name:"<PATH>" description:"Write the image ID to this file"`
	Quiet     bool     `short:"q" long:"quiet" description:"Print only the image ID"`
	Progress  string   `long:"progress" value-name:"<MODE>" default:"auto" description:"Progress: auto, plain, tty, rawjson or quiet"`
	CacheFrom []string `long:"cache-from" value-name:"<SPEC>" description:"Import build cache: type=local,src=DIR or type=registry,ref=REF"`
	CacheTo   []string `long:"cache-to" value-name:"<SPEC>" description:"Export build cache: type=local,dest=DIR, type=registry,ref=REF or type=inline"`
	Outputs   []string `short:"o" long:"output" value-name:"<SPEC>" description:"Output type=TYPE,dest=PATH, TYPE image, local, tar, oci or docker (default: an image in the store)"`
	Network   string   `long:"network" value-name:"<MODE>" default:"default" description:"Network for RUN: default, none or host"`
	AddHosts  []string `long:"add-host" value-name:"<HOST:IP>" description:"Add a line to /etc/hosts in RUN"`
	Push      bool     `long:"push" description:"Push the image to its registry once built (as -o type=image,push=true)"`
	Load      bool     `long:"load" description:"Accepted for docker buildx: the image is always in the store"`
	Rm        bool     `long:"rm" description:"Accepted for docker: no intermediate containers are ever kept"`
	ForceRm   bool     `long:"force-rm" description:"Accepted for docker, as --rm"`
	Args      struct {
		Context string `positional-arg-name:"<CONTEXT>" description:"The build context: a directory, or - for a tar (or a Dockerfile) on stdin"`
	} `positional-args:"yes" required:"yes"`
}

func (b *buildCmd) run(ctx context.Context, a *app) error {
	o, cleanup, err := b.options(a)
	defer cleanup()
	if err != nil {
		return err
	}
	bld, done, err := a.builder(ctx)
	if err != nil {
		return err
	}
	defer done()
	res, err := bld.Build(ctx, o)
	if err != nil {
		return err
	}
	if b.IIDFile != "" && res.Digest != "" {
		if err := os.WriteFile(b.IIDFile, []byte(res.Digest), 0o644); err != nil {
			return fmt.Errorf("--iidfile: %w", err)
		}
	}
	if b.Quiet && res.Digest != "" {
		fmt.Fprintln(a.env.Stdout, res.Digest)
	}
	return nil
}

// options turns the flags into a build; cleanup removes what reading
// stdin put in a temporary directory.
func (b *buildCmd) options(a *app) (builder.Options, func(), error) {
	cleanup := func() {}
	o := builder.Options{
		Context: b.Args.Context, Dockerfile: b.File,
		Tags: b.Tags, Target: b.Target, NoCache: b.NoCache, Pull: b.Pull,
		Network: b.Network, AddHosts: b.AddHosts,
		Progress: a.env.Stderr, ProgressMode: b.Progress, Stdout: a.env.Stdout,
		Args: map[string]string{}, Labels: map[string]string{},
	}
	switch b.Progress {
	case "auto", "plain", "tty", "rawjson", "quiet":
	default:
		return o, cleanup, cli.Usagef("--progress %s: want auto, plain, tty, rawjson or quiet", b.Progress)
	}
	if b.Quiet {
		o.ProgressMode = "quiet"
	}
	for _, p := range b.Platform {
		o.Platforms = append(o.Platforms, strings.Split(p, ",")...)
	}
	for _, kv := range b.BuildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			if v = a.env.Getenv(k); v == "" {
				continue // docker leaves an unset KEY out
			}
		}
		o.Args[k] = v
	}
	for _, kv := range b.Labels {
		k, v, _ := strings.Cut(kv, "=")
		o.Labels[k] = v
	}
	for _, s := range b.Secrets {
		sec, err := builder.ParseSecret(s)
		if err != nil {
			return o, cleanup, err
		}
		o.Secrets = append(o.Secrets, sec)
	}
	for _, s := range b.SSH {
		ssh, err := builder.ParseSSH(s)
		if err != nil {
			return o, cleanup, err
		}
		o.SSH = append(o.SSH, ssh)
	}
	for _, s := range b.CacheFrom {
		e, err := builder.ParseCache("--cache-from", s)
		if err != nil {
			return o, cleanup, err
		}
		o.CacheFrom = append(o.CacheFrom, e)
	}
	for _, s := range b.CacheTo {
		e, err := builder.ParseCache("--cache-to", s)
		if err != nil {
			return o, cleanup, err
		}
		o.CacheTo = append(o.CacheTo, e)
	}
	for _, s := range b.Outputs {
		e, err := builder.ParseOutput(s)
		if err != nil {
			return o, cleanup, err
		}
		o.Outputs = append(o.Outputs, e)
	}
	if b.Push {
		if len(o.Tags) == 0 {
			return o, cleanup, cli.Usagef("--push needs a name to push to: give -t")
		}
		o.Outputs = append(o.Outputs, builder.Entry{Type: "image", Attrs: map[string]string{"push": "true"}})
	}
	if b.Args.Context == "-" || b.File == "-" {
		if b.Args.Context == "-" && b.File == "-" {
			return o, cleanup, cli.Usagef("the context and -f cannot both be read from stdin")
		}
		dir, err := os.MkdirTemp("", "lepton-build-")
		if err != nil {
			return o, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if b.File == "-" {
			o.Dockerfile = filepath.Join(dir, "Dockerfile")
			err = copyTo(o.Dockerfile, a.env.Stdin)
		} else {
			o.Context = dir
			err = contextFromStdin(dir, a.env.Stdin)
			if b.File != "" && !filepath.IsAbs(b.File) {
				o.Dockerfile = filepath.Join(dir, b.File) // -f names a file of the tar
			}
		}
		if err != nil {
			return o, cleanup, err
		}
	}
	return o, cleanup, nil
}

func copyTo(path string, r io.Reader) error {
	if r == nil {
		return errors.New("nothing on stdin")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("read stdin: %w", err)
	}
	return f.Close()
}

// contextFromStdin is docker build -: a tar of the context (gzip'd or
// not), or else a Dockerfile alone with an empty context.
func contextFromStdin(dir string, r io.Reader) error {
	if r == nil {
		return errors.New("build context -: nothing on stdin")
	}
	br := bufio.NewReaderSize(r, 1024)
	head, _ := br.Peek(512)
	var in io.Reader = br
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("build context -: %v", err))
		}
		defer zr.Close()
		zbr := bufio.NewReaderSize(zr, 1024)
		head, _ = zbr.Peek(512)
		in = zbr
	}
	if len(head) < 262 || string(head[257:262]) != "ustar" {
		return copyTo(filepath.Join(dir, "Dockerfile"), in)
	}
	return untar(dir, in)
}

// untar unpacks a context archive into dir, refusing names that would
// land outside it.
func untar(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("build context -: %v", err))
		}
		name := filepath.Clean("/" + h.Name)
		target := filepath.Join(dir, name)
		if name == "/" {
			continue
		}
		if !inside(dir, filepath.Dir(target)) {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("build context -: %s leads out of the context through a symbolic link", h.Name))
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, os.FileMode(h.Mode)&0o7777|0o700)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o7777); err == nil {
					_, err = io.Copy(f, tr)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
			}
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(h.Linkname, target)
			}
		default:
			continue // devices, fifos and hard links have no place in a context
		}
		if err != nil {
			return fmt.Errorf("build context -: %s: %w", h.Name, err)
		}
	}
}

// inside says whether path, its symbolic links followed as far as they
// exist, stays within dir: a tar may not write through a link it made.
func inside(dir, path string) bool {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	p := path
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			rel, err := filepath.Rel(root, filepath.Join(r, strings.TrimPrefix(path, p)))
			return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
		}
		if p == dir || p == "/" || p == "." {
			return false
		}
		p = filepath.Dir(p)
	}
}
