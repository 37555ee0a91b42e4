// Package registry connects lepton to image registries the way containerd
// and docker users already configure them: hosts.toml files (containerd's
// certs.d layout: mirrors, plain http, CAs, client certificates,
// skip_verify) and docker's config.json for credentials, including
// credential helpers.
package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/containerd/errdefs"
)

// DefaultHostsDir is containerd's registry configuration directory.
const DefaultHostsDir = "/etc/containerd/certs.d"

// Options says where the configuration lives.
type Options struct {
	HostsDir     string // containerd's certs.d layout; "" for DefaultHostsDir
	DockerConfig string // the directory holding config.json (DOCKER_CONFIG, else ~/.docker)
}

// Resolver returns a resolver that finds each registry's endpoints in
// HostsDir and its credentials in DockerConfig.
func Resolver(ctx context.Context, o Options) remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{Hosts: Hosts(ctx, o)})
}

// Hosts is the host configuration function behind Resolver.
func Hosts(ctx context.Context, o Options) docker.RegistryHosts {
	dir := o.HostsDir
	if dir == "" {
		dir = DefaultHostsDir
	}
	return config.ConfigureHosts(ctx, config.HostOptions{
		HostDir: config.HostDirFromRoot(dir),
		Credentials: func(host string) (string, string, error) {
			return Credentials(o.DockerConfig, host)
		},
	})
}

// DockerConfig is the part of docker's config.json lepton reads and
// writes. Unknown fields are kept as they were.
type DockerConfig struct {
	Auths       map[string]AuthEntry `json:"auths"`
	CredsStore  string               `json:"credsStore,omitempty"`
	CredHelpers map[string]string    `json:"credHelpers,omitempty"`

	rest map[string]json.RawMessage
}

// AuthEntry holds base64("user:password").
type AuthEntry struct {
	Auth string `json:"auth,omitempty"`
}

// LoadDockerConfig reads dir/config.json; a missing file is an empty config.
func LoadDockerConfig(dir string) (*DockerConfig, error) {
	c := &DockerConfig{Auths: map[string]AuthEntry{}, rest: map[string]json.RawMessage{}}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c.rest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	for k, v := range c.rest {
		var err error
		switch k {
		case "auths":
			err = json.Unmarshal(v, &c.Auths)
		case "credsStore":
			err = json.Unmarshal(v, &c.CredsStore)
		case "credHelpers":
			err = json.Unmarshal(v, &c.CredHelpers)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: field %s: %w", filepath.Join(dir, "config.json"), k, err)
		}
	}
	if c.Auths == nil {
		c.Auths = map[string]AuthEntry{}
	}
	return c, nil
}

// Save writes the config atomically with mode 0600: a reader never sees
// half a file, and no other user can read the credentials.
func (c *DockerConfig) Save(dir string) error {
	out := map[string]any{}
	for k, v := range c.rest {
		out[k] = v
	}
	out["auths"] = c.Auths
	if c.CredsStore != "" {
		out["credsStore"] = c.CredsStore
	}
	if len(c.CredHelpers) > 0 {
		out["credHelpers"] = c.CredHelpers
	}
	b, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config.json-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, "config.json"))
}

// ConfigKey is the key docker uses for a registry host in config.json.
func ConfigKey(host string) string {
	switch host {
	case "docker.io", "registry-1.docker.io", "index.docker.io":
		return "https://index.docker.io/v1/"
	}
	return host
}

// Credentials finds the user name and secret for host: a credential helper
// named for the host, else the credsStore, else the auths entry.
func Credentials(dir, host string) (string, string, error) {
	c, err := LoadDockerConfig(dir)
	if err != nil {
		return "", "", err
	}
	key := ConfigKey(host)
	if helper := c.CredHelpers[key]; helper != "" {
		return helperGet(helper, key)
	}
	if c.CredsStore != "" {
		return helperGet(c.CredsStore, key)
	}
	e, ok := c.Auths[key]
	if !ok || e.Auth == "" {
		return "", "", nil
	}
	b, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return "", "", fmt.Errorf("config.json: credentials for %s are not base64", key)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", fmt.Errorf("config.json: credentials for %s are not user:password", key)
	}
	return user, pass, nil
}

// helperGet asks docker-credential-<helper> for host's credentials, per
// docker's credential helper protocol (server URL on stdin, JSON out).
func helperGet(helper, host string) (string, string, error) {
	cmd := exec.Command("docker-credential-"+helper, "get")
	cmd.Stdin = strings.NewReader(host)
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(string(out), "credentials not found") {
			return "", "", nil
		}
		return "", "", errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("credential helper docker-credential-%s: %v", helper, err))
	}
	var r struct{ Username, Secret string }
	if err := json.Unmarshal(out, &r); err != nil {
		return "", "", fmt.Errorf("credential helper docker-credential-%s: bad answer: %v", helper, err)
	}
	return r.Username, r.Secret, nil
}

// HelperStore hands credentials to a helper ("store"), or removes them
// ("erase" with only the server URL).
func HelperStore(helper, verb, host, user, secret string) error {
	cmd := exec.Command("docker-credential-"+helper, verb)
	if verb == "erase" {
		cmd.Stdin = strings.NewReader(host)
	} else {
		b, _ := json.Marshal(map[string]string{"ServerURL": host, "Username": user, "Secret": secret})
		cmd.Stdin = strings.NewReader(string(b))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("credential helper docker-credential-%s %s: %v: %s", helper, verb, err, strings.TrimSpace(string(out)))
	}
	return nil
}
