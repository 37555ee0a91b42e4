//go:build !windows

package containers

import (
	"io"
	"os"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/registry"
	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/volumes"
)

// Containers is lepton's container lifecycle in one containerd namespace:
// a containerd client for what containerd keeps, and lepton's store for
// names, networks and volumes. It is safe for concurrent use, by goroutines
// and by other processes sharing the data root.
type Containers struct {
	client    *containerd.Client
	names     *Names
	nets      *networks.Networks
	vols      *volumes.Volumes
	dataRoot  string
	namespace string
	logger    string
	init      string
	addr      string
	registry  registry.Options
	progress  io.Writer
	tty       bool
}

// Option sets what Open cannot work out for itself.
type Option func(*Containers)

// WithNamespace works in namespace instead of the client's default one.
func WithNamespace(namespace string) Option {
	return func(d *Containers) { d.namespace = namespace }
}

// WithDataRoot keeps container directories under dir instead of the
// store's root.
func WithDataRoot(dir string) Option {
	return func(d *Containers) { d.dataRoot = dir }
}

// WithLogger names the lepton binary the containerd shim runs to write a
// container's log (its hidden "lepton-container __log DIR" command) and
// runc runs as a network hook. The default is this program itself, which
// is right for lepton and wrong for a program built on this package: give
// it the path of an installed lepton.
func WithLogger(path string) Option {
	return func(d *Containers) { d.logger = path }
}

// WithAddress tells the lifecycle containerd's socket, which a container's
// monitor connects to (to run healthchecks). The default is the one the
// client was made with.
func WithAddress(addr string) Option {
	return func(d *Containers) { d.addr = addr }
}

// WithInit names the static lepton binary that --init mounts into a
// container as its PID 1 (the "lepton-init" applet). The default is the
// logger (see WithLogger).
func WithInit(path string) Option {
	return func(d *Containers) { d.init = path }
}

// WithRegistry configures the registries Create pulls missing images from.
func WithRegistry(o registry.Options) Option {
	return func(d *Containers) { d.registry = o }
}

// WithProgress shows pull progress on w (as a terminal's progress bars if
// tty is set). Without it nothing is printed.
func WithProgress(w io.Writer, tty bool) Option {
	return func(d *Containers) { d.progress, d.tty = w, tty }
}

// Open gathers what the lifecycle works on: the client c, and from the
// store s the name claims, networks and volumes of the namespace.
func Open(c *containerd.Client, s *store.Store, opts ...Option) (*Containers, error) {
	d := &Containers{client: c, dataRoot: s.Root(), namespace: c.DefaultNamespace(), progress: io.Discard}
	if d.namespace == "" {
		d.namespace = "default"
	}
	for _, o := range opts {
		o(d)
	}
	var err error
	if d.names, err = OpenNames(s, d.namespace); err != nil {
		return nil, err
	}
	// The lifecycle's network and volume changes are told as events too.
	if d.nets, err = networks.Open(s, d.namespace, networks.WithEvents(c.EventService())); err != nil {
		return nil, err
	}
	if d.vols, err = volumes.Open(s, d.namespace, volumes.WithEvents(c.EventService())); err != nil {
		return nil, err
	}
	return d, nil
}

// Client is the containerd client the lifecycle works through.
func (d *Containers) Client() *containerd.Client { return d.client }

// Names is the namespace's name claims.
func (d *Containers) Names() *Names { return d.names }

// Networks is the namespace's networks.
func (d *Containers) Networks() *networks.Networks { return d.nets }

// Volumes is the namespace's volumes.
func (d *Containers) Volumes() *volumes.Volumes { return d.vols }

// Namespace is the containerd namespace worked in.
func (d *Containers) Namespace() string { return d.namespace }

// DataRoot is the directory holding lepton's files.
func (d *Containers) DataRoot() string { return d.dataRoot }

// Dir is container id's directory (see Dir).
func (d *Containers) Dir(id string) string { return Dir(d.dataRoot, d.namespace, id) }

// DirsRoot is the directory holding every container's Dir.
func (d *Containers) DirsRoot() string { return DirsRoot(d.dataRoot, d.namespace) }

// address is containerd's socket.
func (d *Containers) address() string {
	if d.addr != "" {
		return d.addr
	}
	if c, ok := d.client.Conn().(interface{ Target() string }); ok {
		return strings.TrimPrefix(c.Target(), "unix://")
	}
	return ""
}

// initPath is the binary --init runs as the container's PID 1.
func (d *Containers) initPath() (string, error) {
	if d.init != "" {
		return d.init, nil
	}
	return d.loggerPath()
}

// loggerPath is the binary the shim runs as the logging process.
func (d *Containers) loggerPath() (string, error) {
	if d.logger != "" {
		return d.logger, nil
	}
	return os.Executable()
}
