package image

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/registry"
)

type loginCmd struct {
	cli.Command
	Username      string `short:"u" long:"username" value-name:"<USER>" description:"User name"`
	Password      string `short:"p" long:"password" value-name:"<PASSWORD>" description:"Password (prefer --password-stdin: a command line is visible to other users)"`
	PasswordStdin bool   `long:"password-stdin" description:"Read the password from standard input"`
	Args          struct {
		Server string `positional-arg-name:"<SERVER>" description:"Registry host (default: docker.io)"`
	} `positional-args:"yes"`
}

// run checks the credentials against the registry (basic or bearer auth,
// as the registry asks) and only then stores them: with the credential
// helper config.json names, else in config.json itself, written whole and
// readable by its owner only. The password is never printed.
func (l *loginCmd) run(ctx context.Context, a *app) error {
	server := l.Args.Server
	if server == "" {
		server = "docker.io"
	}
	server = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	password := l.Password
	if l.PasswordStdin {
		if l.Password != "" {
			return cli.Usagef("--password and --password-stdin are exclusive")
		}
		line, err := bufio.NewReader(a.env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return cli.Usagef("--password-stdin: nothing on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if l.Username == "" || password == "" {
		return cli.Usagef("login needs -u USER and a password (--password-stdin, or -p)")
	}
	if err := checkLogin(ctx, a.g.Registry(), server, l.Username, password); err != nil {
		return err
	}
	key := registry.ConfigKey(server)
	cfg, err := registry.LoadDockerConfig(a.g.DockerConfig)
	if err != nil {
		return err
	}
	if helper := helperFor(cfg, key); helper != "" {
		if err := registry.HelperStore(helper, "store", key, l.Username, password); err != nil {
			return err
		}
	} else {
		cfg.Auths[key] = registry.AuthEntry{Auth: base64.StdEncoding.EncodeToString([]byte(l.Username + ":" + password))}
		if err := cfg.Save(a.g.DockerConfig); err != nil {
			return fmt.Errorf("save credentials: %w", err)
		}
	}
	fmt.Fprintln(a.env.Stdout, "Login Succeeded")
	return nil
}

func helperFor(cfg *registry.DockerConfig, key string) string {
	if h := cfg.CredHelpers[key]; h != "" {
		return h
	}
	return cfg.CredsStore
}

// checkLogin resolves a made-up image on server with the credentials: the
// registry then asks for them, and answers "not found" only once they were
// accepted.
func checkLogin(ctx context.Context, o registry.Options, server, user, password string) error {
	dir := o.HostsDir
	if dir == "" {
		dir = registry.DefaultHostsDir
	}
	hosts := config.ConfigureHosts(ctx, config.HostOptions{
		HostDir:     config.HostDirFromRoot(dir),
		Credentials: func(string) (string, string, error) { return user, password, nil },
	})
	r := docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
	host := server
	if host == "docker.io" {
		host = "docker.io/library"
	}
	_, _, err := r.Resolve(ctx, host+"/lepton-login-check:latest")
	switch {
	case err == nil, errdefs.IsNotFound(err):
		return nil
	case strings.Contains(err.Error(), "401") || strings.Contains(strings.ToLower(err.Error()), "unauthorized"):
		return errdefs.ErrUnauthenticated.WithMessage(fmt.Sprintf("login to %s failed: wrong user name or password", server))
	}
	return fmt.Errorf("login to %s: %w", server, err)
}

type logoutCmd struct {
	cli.Command
	Args struct {
		Server string `positional-arg-name:"<SERVER>" description:"Registry host (default: docker.io)"`
	} `positional-args:"yes"`
}

func (l *logoutCmd) run(ctx context.Context, a *app) error {
	server := l.Args.Server
	if server == "" {
		server = "docker.io"
	}
	key := registry.ConfigKey(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/"))
	cfg, err := registry.LoadDockerConfig(a.g.DockerConfig)
	if err != nil {
		return err
	}
	if helper := helperFor(cfg, key); helper != "" {
		if err := registry.HelperStore(helper, "erase", key, "", ""); err != nil {
			return err
		}
	}
	if _, ok := cfg.Auths[key]; ok {
		delete(cfg.Auths, key)
		if err := cfg.Save(a.g.DockerConfig); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.env.Stdout, "Removing login credentials for %s\n", key)
	return nil
}
