// Package store keeps lepton's own state (container names, volumes,
// networks and their endpoints, image summaries) on the local filesystem so that any number of lepton
// processes can read and change it at once, and a process killed at any
// instant leaves nothing half-written and no lock held.
//
// # On-disk layout (schema version 1)
//
//	<root>/
//	├── store-version               "1\n"; the layout below changes only with a migration
//	└── meta/
//	    └── <namespace>/
//	        └── <kind>/             e.g. "volumes"
//	            ├── <key>           one record, always written whole
//	            ├── .locks/<key>    advisory flock(2) target for <key>; removed with the record
//	            └── .tmp-*          a write in flight, or one left by a killed writer
//
// Applets may keep bulk data of their own beside meta/ (lepton-volume keeps
// volumes/<namespace>/<name>/_data, lepton-compose the secrets and configs
// it writes in compose/<namespace>/<project>/), and a user's rootless
// daemon keeps containerd's root in rootless/containerd/ of the default
// data root (package rootless); the store never touches them.
//
// # Guarantees
//
//   - A record is written to a temporary file in its directory, fsynced,
//     renamed over the old one and the directory fsynced: readers see the old
//     record or the new one, never a mix, and lock-free reads are safe.
//   - Read-modify-write runs under an exclusive flock on a per-key lock file,
//     so unrelated keys never wait for each other. The kernel drops the lock
//     when its holder dies, so SIGKILL cannot leave a key locked.
//   - Removing something already gone succeeds.
//
// # Accepted identifiers
//
// Keys, namespaces and kinds are the identifiers docker accepts for names:
// 1 to 200 bytes, the first an ASCII letter or digit, the rest ASCII letters,
// digits, '_', '.' or '-' (regexp [A-Za-z0-9][A-Za-z0-9_.-]{0,199}). Every
// other string ("", ".", "..", "a/b", NUL, control characters, non-ASCII,
// names longer than 200 bytes) is refused with ErrInvalidArgument before any
// path is built, so no key can name a file outside its directory. Because the
// accepted set is filesystem-safe, a key is its own file name. On a
// case-insensitive filesystem "Vol" and "vol" are the same key.
//
// # Errors
//
// Errors belong to containerd's closed set of classes (package
// github.com/containerd/errdefs), the same ones the containerd client
// returns: ErrNotFound, ErrAlreadyExists, ErrInvalidArgument,
// ErrFailedPrecondition. They are wrapped with context; test them with
// errors.Is or errdefs.IsNotFound and friends.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// SchemaVersion is the on-disk layout version this package reads and writes.
const SchemaVersion = 1

// MaxKeyLen is the longest accepted key, namespace or kind, in bytes.
const MaxKeyLen = 200

const (
	versionFile = "store-version"
	metaDir     = "meta"
	locksDir    = ".locks"
	tmpPrefix   = ".tmp-"
	// staleTmp is how old an in-flight write must be before List sweeps it:
	// far longer than any real write of a small record takes.
	staleTmp = 10 * time.Minute
)

// Store is a handle on one store root. It holds no open files and is safe
// for concurrent use.
type Store struct {
	root     string
	dirMode  os.FileMode
	fileMode os.FileMode
}

// Option configures Open.
type Option func(*Store)

// WithFileMode sets the permission bits of record files (default 0600) and
// derives the directory mode from it (default 0700).
func WithFileMode(m os.FileMode) Option {
	return func(s *Store) {
		s.fileMode = m
		s.dirMode = m | (m&0o444)>>2 // each class that may read may also search
	}
}

// Open opens the store at root, creating it if needed. It fails with
// ErrFailedPrecondition when root holds a schema this code does not know.
func Open(ctx context.Context, root string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if root == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("store: empty root directory")
	}
	s := &Store{root: filepath.Clean(root), dirMode: 0o700, fileMode: 0o600}
	for _, o := range opts {
		o(s)
	}
	b, err := os.ReadFile(filepath.Join(s.root, versionFile))
	switch {
	case err == nil:
		v := strings.TrimSpace(string(b))
		if v != fmt.Sprint(SchemaVersion) {
			return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("store %s has schema version %q, this lepton understands %d (upgrade lepton, or point --data-root elsewhere)", s.root, v, SchemaVersion))
		}
		return s, nil
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Join(s.root, metaDir), s.dirMode); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", s.root, err)
		}
		// Racing first users all write the same bytes, and the rename is
		// atomic, so no lock is needed here.
		if err := writeFileAtomic(s.root, versionFile, []byte(fmt.Sprintf("%d\n", SchemaVersion)), 0o644, s.dirMode); err != nil {
			return nil, fmt.Errorf("store: write schema version: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store: read schema version: %w", err)
	}
}

// Root is the directory the store was opened on.
func (s *Store) Root() string { return s.root }

// Collection returns the records of one kind in one namespace. Nothing is
// created on disk until the first write.
func (s *Store) Collection(namespace, kind string) (*Collection, error) {
	if err := ValidateKey(namespace); err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	if err := ValidateKey(kind); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	return &Collection{s: s, kind: kind, dir: filepath.Join(s.root, metaDir, namespace, kind)}, nil
}

// ValidateKey reports whether key is an accepted identifier (see the package
// documentation); the error is of class ErrInvalidArgument.
func ValidateKey(key string) error {
	if len(key) == 0 {
		return errdefs.ErrInvalidArgument.WithMessage("invalid name \"\": a name must not be empty")
	}
	if len(key) > MaxKeyLen {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid name %.20q...: %d bytes long, the limit is %d", key, len(key), MaxKeyLen))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || i > 0 && (c == '_' || c == '.' || c == '-') {
			continue
		}
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"invalid name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", key))
	}
	return nil
}

// Collection is the set of records of one kind in one namespace.
type Collection struct {
	s    *Store
	kind string
	dir  string
}

// Dir is the directory holding the collection's records.
func (c *Collection) Dir() string { return c.dir }

// Entry is one record as returned by List.
type Entry struct {
	Key  string
	Data []byte
}

// Get returns the record stored under key.
func (c *Collection) Get(ctx context.Context, key string) ([]byte, error) {
	if err := c.check(ctx, key); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(c.dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, c.notFound(key)
	}
	return b, err
}

// Create stores data under key, failing with ErrAlreadyExists if the key
// is taken.
func (c *Collection) Create(ctx context.Context, key string, data []byte) error {
	return c.Locked(ctx, key, func(r *Record) error {
		if r.Exists() {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("%s %q already exists", c.kind, key))
		}
		return r.Write(data)
	})
}

// Put stores data under key, replacing any record there.
func (c *Collection) Put(ctx context.Context, key string, data []byte) error {
	return c.Locked(ctx, key, func(r *Record) error { return r.Write(data) })
}

// Update replaces the record under key with fn's result, holding the key's
// lock throughout. It fails with ErrNotFound if there is no record; an error
// from fn leaves the record as it was.
func (c *Collection) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	return c.Locked(ctx, key, func(r *Record) error {
		old, err := r.Data()
		if err != nil {
			return err
		}
		b, err := fn(old)
		if err != nil {
			return err
		}
		return r.Write(b)
	})
}

// Delete removes the record under key. A missing record is not an error.
func (c *Collection) Delete(ctx context.Context, key string) error {
	return c.Locked(ctx, key, func(r *Record) error { return r.Remove() })
}

// List returns every record, sorted by key. It takes no locks: each record
// is seen whole, either before or after any concurrent write.
func (c *Collection) List(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.kind, err)
	}
	rd, err := newDirReader(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.kind, err)
	}
	defer rd.close()
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			c.sweep(name)
			continue
		}
		if strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue
		}
		b, err := rd.read(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir: it is simply not in this listing
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", c.kind, err)
		}
		out = append(out, Entry{Key: name, Data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// sweep removes a temporary file left behind by a writer that died.
func (c *Collection) sweep(name string) {
	p := filepath.Join(c.dir, name)
	if fi, err := os.Lstat(p); err == nil && time.Since(fi.ModTime()) > staleTmp {
		_ = os.Remove(p)
	}
}

// Locked runs fn with key's lock held, giving it a Record through which to
// read, write or remove the record. Use it when a change spans more than the
// record itself (a volume's data directory, a container's name claim) so the
// whole change is serialised against other lepton processes. fn must not
// call other methods of c for the same key: it would wait on itself.
func (c *Collection) Locked(ctx context.Context, key string, fn func(r *Record) error) error {
	if err := c.check(ctx, key); err != nil {
		return err
	}
	l, err := c.lock(ctx, key)
	if err != nil {
		return err
	}
	r := &Record{c: c, key: key}
	ferr := fn(r)
	uerr := l.release(!r.Exists())
	if ferr != nil {
		return ferr
	}
	return uerr
}

func (c *Collection) check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ValidateKey(key)
}

func (c *Collection) notFound(key string) error {
	return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("%s %q not found", c.kind, key))
}

// Record is one key's record while its lock is held (see Locked).
type Record struct {
	c   *Collection
	key string
}

// Key is the record's key.
func (r *Record) Key() string { return r.key }

// Exists reports whether a record is stored under the key.
func (r *Record) Exists() bool {
	_, err := os.Lstat(filepath.Join(r.c.dir, r.key))
	return err == nil
}

// Data returns the stored record, or ErrNotFound.
func (r *Record) Data() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(r.c.dir, r.key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, r.c.notFound(r.key)
	}
	return b, err
}

// Write stores data as the record, atomically and durably.
func (r *Record) Write(data []byte) error {
	if err := writeFileAtomic(r.c.dir, r.key, data, r.c.s.fileMode, r.c.s.dirMode); err != nil {
		return fmt.Errorf("write %s %q: %w", r.c.kind, r.key, err)
	}
	return nil
}

// Remove deletes the record; a missing record is not an error.
func (r *Record) Remove() error {
	err := os.Remove(filepath.Join(r.c.dir, r.key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s %q: %w", r.c.kind, r.key, err)
	}
	return syncDir(r.c.dir)
}

// WriteFile replaces the file at path with data as the store writes its
// records (a temp file beside it, fsync, rename, fsync of the directory),
// so that no reader, and no crash, ever sees a part of it. For files kept
// beside the store's records, such as a container's own. The directory
// must exist: one removed meanwhile is not made again.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return writeFileIn(filepath.Dir(path), filepath.Base(path), data, mode)
}

// writeFileAtomic replaces dir/name with data so that no reader, and no
// crash, ever sees a partial file.
func writeFileAtomic(dir, name string, data []byte, mode, dirMode os.FileMode) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	return writeFileIn(dir, name, data, mode)
}

func writeFileIn(dir, name string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errUnsupportedSync) {
		return err
	}
	return nil
}
