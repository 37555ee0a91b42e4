// Package volumes keeps lepton's volumes: a record in the store (collection
// "volumes" of the containerd namespace) plus a directory under the data root:
//
//	<data-root>/volumes/<namespace>/<name>/_data   what containers see
//	<data-root>/volumes/<namespace>/.trash-*       data of a removal in progress
//
// Every change to a volume runs under the volume's store lock, so create,
// rm and prune racing from many processes end in a state one of them
// chose, and a process killed half-way leaves either the whole volume or
// none of it (an interrupted removal is finished by the next rm or prune).
//
// A containerd container uses a volume when it carries the label
// "lepton.volume/<name>" (UsedByLabel). Whoever mounts a volume into a new
// container sets that label while holding the volume's lock (Lock), so that
// no rm can slip in between the check and the mount.
package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/store"
)

// DriverLocal is the only driver: a directory under the data root.
const DriverLocal = "local"

// UsedByLabel prefixes the containerd container label that marks a
// container as using a volume: "lepton.volume/<name>".
const UsedByLabel = "lepton.volume/"

// Volume is one volume's record.
type Volume struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	Labels    map[string]string `json:"labels,omitempty"`
	Anonymous bool              `json:"anonymous,omitempty"` // created without a name
	CreatedAt time.Time         `json:"createdAt"`

	Mountpoint string `json:"-"` // derived from the data root, never stored
}

// Volumes is the set of volumes of one containerd namespace.
type Volumes struct {
	coll      *store.Collection
	dir       string // <data-root>/volumes/<namespace>
	namespace string
	events    events.Publisher
}

// Option sets what Open cannot work out for itself.
type Option func(*Volumes)

// WithEvents publishes docker's volume events through p (see
// common/events): create and destroy. Without it nothing is published.
func WithEvents(p events.Publisher) Option {
	return func(vs *Volumes) { vs.events = p }
}

// Open returns the volumes of namespace in s.
func Open(s *store.Store, namespace string, opts ...Option) (*Volumes, error) {
	c, err := s.Collection(namespace, "volumes")
	if err != nil {
		return nil, err
	}
	vs := &Volumes{coll: c, dir: filepath.Join(s.Root(), "volumes", namespace), namespace: namespace}
	for _, o := range opts {
		o(vs)
	}
	return vs, nil
}

// publish sends docker's event of action on volume name; best effort,
// see events.Publish.
func (vs *Volumes) publish(ctx context.Context, action, name, driver string) {
	if vs.events == nil {
		return
	}
	events.Publish(ctx, vs.events, vs.namespace, events.Event{Type: events.Volume, Action: action,
		Actor: events.Actor{ID: name, Attributes: map[string]string{"driver": driver}}})
}

// CreateOptions says what volume to create. An empty Name asks for a random
// one, and marks the volume anonymous.
type CreateOptions struct {
	Name   string
	Driver string
	Labels map[string]string
}

// Create makes a volume. An existing name fails with ErrAlreadyExists and
// changes nothing.
func (vs *Volumes) Create(ctx context.Context, o CreateOptions) (*Volume, error) {
	v := &Volume{Name: o.Name, Driver: o.Driver, Labels: o.Labels, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if v.Driver == "" {
		v.Driver = DriverLocal
	}
	if v.Driver != DriverLocal {
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("volume driver %q is not supported: lepton has only the %q driver", v.Driver, DriverLocal))
	}
	if v.Name == "" {
		v.Name, v.Anonymous = randomName(), true
	}
	if err := store.ValidateKey(v.Name); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	err = vs.coll.Locked(ctx, v.Name, func(r *store.Record) error {
		if r.Exists() {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("volume %q already exists (remove it first, or choose another name)", v.Name))
		}
		// A directory without a record is what a create killed before its
		// record was written leaves: it is empty, so it is taken over.
		if err := os.MkdirAll(vs.dataDir(v.Name), 0o755); err != nil {
			return fmt.Errorf("create volume %q: %w", v.Name, err)
		}
		crash.Point("volume-create-dir")
		if err := r.Write(b); err != nil {
			os.RemoveAll(vs.volumeDir(v.Name))
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v.Mountpoint = vs.dataDir(v.Name)
	vs.publish(ctx, "create", v.Name, v.Driver)
	return v, nil
}

// Get returns the named volume, or an ErrNotFound error.
func (vs *Volumes) Get(ctx context.Context, name string) (*Volume, error) {
	if err := store.ValidateKey(name); err != nil {
		return nil, err
	}
	b, err := vs.coll.Get(ctx, name)
	if errdefs.IsNotFound(err) {
		return nil, errdefs.ErrNotFound.WithMessage("no such volume: " + name)
	}
	if err != nil {
		return nil, err
	}
	return vs.decode(name, b)
}

// List returns every volume, sorted by name.
func (vs *Volumes) List(ctx context.Context) ([]*Volume, error) {
	es, err := vs.coll.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Volume, 0, len(es))
	for _, e := range es {
		v, err := vs.decode(e.Key, e.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (vs *Volumes) decode(name string, b []byte) (*Volume, error) {
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("volume %q: damaged record in %s: %v", name, vs.coll.Dir(), err))
	}
	v.Name = name // the key is the truth; the stored copy is informative
	v.Mountpoint = vs.dataDir(name)
	return &v, nil
}

// Users says which containers use which volumes: volume name → container
// IDs. See ContainerUsers.
type Users func(ctx context.Context) (map[string][]string, error)

// ContainerUsers finds users among the containerd containers of the
// client's namespace, by their UsedByLabel labels.
func ContainerUsers(c *containerd.Client) Users {
	return func(ctx context.Context) (map[string][]string, error) {
		cs, err := c.ContainerService().List(ctx)
		if err != nil {
			return nil, fmt.Errorf("list containers to see which volumes are in use: %w", err)
		}
		m := map[string][]string{}
		for _, ct := range cs {
			for k := range ct.Labels {
				if name, ok := strings.CutPrefix(k, UsedByLabel); ok {
					m[name] = append(m[name], ct.ID)
				}
			}
		}
		for _, ids := range m {
			sort.Strings(ids)
		}
		return m, nil
	}
}

// Lock runs fn holding the named volume's lock, with the volume as it is
// then (ErrNotFound if there is none). Code that mounts a volume into a new
// container sets UsedByLabel inside fn so no removal can interleave.
func (vs *Volumes) Lock(ctx context.Context, name string, fn func(v *Volume) error) error {
	if err := store.ValidateKey(name); err != nil {
		return err
	}
	return vs.coll.Locked(ctx, name, func(r *store.Record) error {
		b, err := r.Data()
		if errdefs.IsNotFound(err) {
			return errdefs.ErrNotFound.WithMessage("no such volume: " + name)
		}
		if err != nil {
			return err
		}
		v, err := vs.decode(name, b)
		if err != nil {
			return err
		}
		return fn(v)
	})
}

// Remove deletes the named volume and its data. It fails with
// ErrNotFound when there is no such volume and with ErrFailedPrecondition,
// naming the containers, when users says it is in use.
func (vs *Volumes) Remove(ctx context.Context, name string, users Users) error {
	if err := store.ValidateKey(name); err != nil {
		return err
	}
	err := vs.coll.Locked(ctx, name, func(r *store.Record) error {
		if !r.Exists() {
			return errdefs.ErrNotFound.WithMessage("no such volume: " + name)
		}
		if users != nil {
			u, err := users(ctx)
			if err != nil {
				return err
			}
			if ids := u[name]; len(ids) > 0 {
				return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("volume %s is in use by container %s (remove the container first)", name, strings.Join(ids, ", ")))
			}
		}
		// Move the data out of the way first: a removal killed after this
		// leaves a record whose rm finishes the job, never a record that
		// silently gets its old data back.
		trash := filepath.Join(vs.dir, ".trash-"+name+"-"+randomName()[:8])
		if err := os.Rename(vs.volumeDir(name), trash); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove volume %q: %w", name, err)
		}
		crash.Point("volume-rm-moved")
		if err := r.Remove(); err != nil {
			return err
		}
		return os.RemoveAll(trash)
	})
	if err == nil {
		vs.publish(ctx, "destroy", name, DriverLocal)
		vs.sweepTrash()
	}
	return err
}

// sweepTrash finishes removals whose process died between moving the data
// away and deleting it.
func (vs *Volumes) sweepTrash() {
	des, _ := os.ReadDir(vs.dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".trash-") {
			if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
				os.RemoveAll(filepath.Join(vs.dir, de.Name()))
			}
		}
	}
}

// Size is the bytes used by the volume's data (walked, so it costs time on
// big volumes).
func (v *Volume) Size() int64 {
	var n int64
	filepath.WalkDir(v.Mountpoint, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func (vs *Volumes) volumeDir(name string) string { return filepath.Join(vs.dir, name) }
func (vs *Volumes) dataDir(name string) string   { return filepath.Join(vs.dir, name, "_data") }

func randomName() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
