package cli

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/ctrd"
	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/store"
)

// DefaultNamespace is the containerd namespace lepton uses unless told
// otherwise. It is containerd's own default, as with ctr and nerdctl, so
// `ctr` sees what lepton made and the other way round.
const DefaultNamespace = "default"

// Globals are the options every applet accepts. Embed it in an applet's
// option struct, then call Resolve after parsing.
type Globals struct {
	Address   string `long:"address" value-name:"<SOCKET>" description:"Containerd socket (env CONTAINERD_ADDRESS; default /run/containerd/containerd.sock)"`
	Namespace string `long:"namespace" value-name:"<NAME>" description:"Containerd namespace (env CONTAINERD_NAMESPACE; default \"default\")"`
	DataRoot  string `long:"data-root" value-name:"<DIR>" description:"Where lepton keeps its state (env LEPTON_HOME; default /var/lib/lepton as root)"`
	HostsDir  string `long:"hosts-dir" value-name:"<DIR>" description:"Registry configuration in containerd's hosts.toml layout (default /etc/containerd/certs.d)"`

	// DockerConfig is the directory of docker's config.json (credentials):
	// DOCKER_CONFIG, else ~/.docker.
	DockerConfig string `no-flag:"yes"`
}

// Resolve fills what was not given on the command line from the
// environment, then from the defaults.
func (g *Globals) Resolve(env *Env) {
	if g.Address == "" {
		g.Address = env.Getenv("CONTAINERD_ADDRESS")
	}
	if g.Address == "" {
		g.Address = ctrd.DefaultAddress
	}
	if g.Namespace == "" {
		g.Namespace = env.Getenv("CONTAINERD_NAMESPACE")
	}
	if g.Namespace == "" {
		g.Namespace = DefaultNamespace
	}
	if g.DataRoot == "" {
		g.DataRoot = DefaultDataRoot(env)
	}
	if g.HostsDir == "" {
		g.HostsDir = registry.DefaultHostsDir
	}
	if g.DockerConfig = env.Getenv("DOCKER_CONFIG"); g.DockerConfig == "" {
		g.DockerConfig = filepath.Join(env.Getenv("HOME"), ".docker")
	}
}

// Registry is where registries are configured, from the resolved globals.
func (g *Globals) Registry() registry.Options {
	return registry.Options{HostsDir: g.HostsDir, DockerConfig: g.DockerConfig}
}

// DefaultDataRoot is LEPTON_HOME, else /var/lib/lepton for root, else
// $XDG_DATA_HOME/lepton (~/.local/share/lepton).
func DefaultDataRoot(env *Env) string {
	if h := env.Getenv("LEPTON_HOME"); h != "" {
		return h
	}
	if runtime.GOOS == "linux" && os.Geteuid() == 0 {
		return "/var/lib/lepton"
	}
	if x := env.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "lepton")
	}
	return filepath.Join(env.Getenv("HOME"), ".local", "share", "lepton")
}

// Store opens lepton's store under the data root.
func (g *Globals) Store(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, g.DataRoot)
}

// Client connects to containerd; see ctrd.Connect.
func (g *Globals) Client(ctx context.Context) (*containerd.Client, error) {
	return ctrd.Connect(ctx, g.Address, g.Namespace)
}

// Events publishes lepton's own events (common/events) to the containerd
// of the globals, connecting for each event and only then: a command that
// works without containerd (volume create) opens no connection up front,
// and still works when the daemon is down, its event lost.
func (g *Globals) Events() events.Publisher {
	return events.Dialer(g.Address, g.Namespace)
}

// ContainerDir is where lepton keeps what it has of a container outside
// containerd (its log, its /etc files, its network plan).
func (g *Globals) ContainerDir(id string) string {
	return containers.Dir(g.DataRoot, g.Namespace, id)
}
