//go:build !windows

package containers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	cfs "github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/crash"
	"github.com/lepton-project/lepton/common/leases"
)

// ChangeKind is how a path differs from the container's image, as docker
// diff shows it.
type ChangeKind byte

// The kinds of Change.
const (
	Added    ChangeKind = 'A'
	Modified ChangeKind = 'C'
	Deleted  ChangeKind = 'D'
)

func (k ChangeKind) String() string { return string(rune(k)) }

// Change is one path of a container's file system that is not as its
// image has it.
type Change struct {
	Kind ChangeKind
	Path string // absolute, as the container sees it
}

func (c Change) String() string { return c.Kind.String() + " " + c.Path }

// Diff lists what container id has added, changed and deleted in its file
// system since it was made from its image, sorted by path, as docker diff
// does: a deleted directory is one D (its contents go with it), every
// directory above a change is C, and a directory is not C for a new
// modification time alone. The files lepton binds into a container
// (/etc/hosts, /etc/hostname, /etc/resolv.conf, the --init binary) and
// the mountpoints the runtime makes for /proc, /sys, /dev and /run are left
// out, as docker keeps them in a layer of its own; a mountpoint made for
// a volume or bind mount is listed, as with docker. Volumes themselves
// are not part of the container's file system. The container may be
// running or stopped.
func (d *Containers) Diff(ctx context.Context, id string) ([]Change, error) {
	var out []Change
	err := d.changes(ctx, id, func(_ string, changes []fileChange) error {
		for _, c := range changes {
			out = append(out, c.Change)
		}
		return nil
	})
	return out, err
}

// fileChange is a Change with what the walk found there (nil for a
// deletion), for the runtime's mountpoints to be told from real files.
type fileChange struct {
	Change
	fi os.FileInfo
}

// changes works out container id's changes and hands them, with the
// container's file system mounted read-only at root, to fn. It works
// under a lease of its own unless ctx carries one: the view of the image
// it compares with is a snapshot, which a killed lepton must not leave
// pinned for ever.
//
// Two ways give the same answer. On overlayfs, the container's upper
// directory is its changes: walking it (whiteouts are deletions, an opaque
// directory hides what the image had under it) costs in proportion to what
// the container wrote, not to the image's size, as docker's overlay2
// driver does. Any other snapshotter, or an overlay whose upper
// directory holds redirects (a renamed directory that still draws on the
// layer below, which the upper directory alone cannot tell), gets
// continuity's walk of both trees, which is right for any file system.
func (d *Containers) changes(ctx context.Context, id string, fn func(root string, changes []fileChange) error) error {
	info, err := d.client.ContainerService().Get(ctx, id)
	if err != nil {
		return err
	}
	if info.SnapshotKey == "" {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has no file system of its own (no snapshot)", info.ID))
	}
	ctx, done, err := leases.With(ctx, d.client, "diff", nil)
	if err != nil {
		return err
	}
	defer done(context.WithoutCancel(ctx))
	sn := d.client.SnapshotService(info.Snapshotter)
	st, err := sn.Stat(ctx, info.SnapshotKey)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s has lost its file system: snapshot %s is gone", info.ID, info.SnapshotKey))
		}
		return err
	}
	base, releaseBase, err := d.mountParent(ctx, sn, st.Parent)
	if err != nil {
		return err
	}
	defer releaseBase()
	mounts, err := sn.Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("mount the container's file system: %w", err)
	}
	root, release, err := d.mountAt(ReadOnlyMounts(mounts))
	if err != nil {
		return fmt.Errorf("mount the container's file system: %w", err)
	}
	defer release()
	crash.Point("diff-mounted")
	var raw []fileChange
	walk := true
	if upper, prefix, ok := overlayUpper(mounts); ok {
		raw, err = overlayChanges(ctx, base, upper, prefix)
		walk = errors.Is(err, errRedirect)
	}
	if walk {
		raw, err = walkChanges(ctx, base, root)
	}
	if err != nil {
		return fmt.Errorf("compare container %s with its image: %w", info.ID, err)
	}
	return fn(root, tidyChanges(raw))
}

// mountParent mounts a read-only view of snapshot parent, the image's top
// layer; "" (an image without layers) is an empty tree.
func (d *Containers) mountParent(ctx context.Context, sn snapshots.Snapshotter, parent string) (string, func(), error) {
	if parent == "" {
		return "", func() {}, nil
	}
	key := "lepton-diff-" + NewID()
	mounts, err := sn.View(ctx, key, parent)
	if err != nil {
		return "", nil, fmt.Errorf("view the container's image: %w", err)
	}
	dir, release, err := d.mountAt(mounts)
	if err != nil {
		sn.Remove(context.WithoutCancel(ctx), key)
		return "", nil, fmt.Errorf("mount the container's image: %w", err)
	}
	return dir, func() {
		release()
		sn.Remove(context.WithoutCancel(ctx), key)
	}, nil
}

// overlayUpper is the upper directory of a container's overlay mount and
// the prefix of the extended attributes overlayfs keeps there.
func overlayUpper(mounts []mount.Mount) (upper, prefix string, ok bool) {
	if len(mounts) != 1 || mounts[0].Type != "overlay" {
		return "", "", false
	}
	prefix = "trusted.overlay."
	for _, o := range mounts[0].Options {
		if u, found := strings.CutPrefix(o, "upperdir="); found {
			upper = u
		}
		if o == "userxattr" {
			prefix = "user.overlay."
		}
	}
	return upper, prefix, upper != ""
}

// errRedirect says an upper directory cannot be read on its own.
var errRedirect = errors.New("overlay upper directory holds redirects")

// overlayChanges reads the changes from an overlay upper directory, base
// being the tree below it. Only paths whose parent directory is a real
// directory in base are looked up there, so no symbolic link in the image
// is ever followed.
func overlayChanges(ctx context.Context, base, upper, prefix string) ([]fileChange, error) {
	var out []fileChange
	baseDirs := map[string]bool{"/": base != ""} // real directories of base
	opaque := map[string]bool{}                  // in an opaque directory: base's entries missing from upper are gone
	err := filepath.WalkDir(upper, func(full string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && full != upper {
				return nil // removed by a running container while we looked
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, full)
		if err != nil {
			return err
		}
		p := path.Join("/", filepath.ToSlash(rel))
		if p == "/" {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		parent := path.Dir(p)
		var bfi os.FileInfo
		if baseDirs[parent] {
			if bfi, err = os.Lstat(filepath.Join(base, p)); err != nil {
				if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
					return err
				}
				bfi = nil
			}
		}
		if isWhiteout(fi) {
			if bfi != nil {
				out = append(out, fileChange{Change{Deleted, p}, nil})
			}
			return nil
		}
		isOpaque, err := overlayAttrs(full, prefix, fi.IsDir())
		if err != nil {
			return err
		}
		switch {
		case bfi == nil:
			out = append(out, fileChange{Change{Added, p}, fi})
		case !fi.IsDir() || !bfi.IsDir() || !sameMeta(fi, bfi):
			out = append(out, fileChange{Change{Modified, p}, fi})
		}
		if !fi.IsDir() {
			return nil
		}
		if bfi != nil && bfi.IsDir() {
			baseDirs[p] = true
		}
		if isOpaque || opaque[parent] {
			opaque[p] = true
			if baseDirs[p] {
				gone, err := missingFrom(filepath.Join(base, p), full)
				if err != nil {
					return err
				}
				for _, name := range gone {
					out = append(out, fileChange{Change{Deleted, path.Join(p, name)}, nil})
				}
			}
		}
		return nil
	})
	return out, err
}

// isWhiteout reports an overlayfs whiteout: a 0/0 character device.
func isWhiteout(fi os.FileInfo) bool {
	if fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// overlayAttrs reads overlayfs's attributes of an upper directory entry:
// whether it is an opaque directory, and errRedirect if it redirects to
// another path of the layers below.
func overlayAttrs(p, prefix string, dir bool) (opaque bool, err error) {
	buf := make([]byte, 1024)
	n, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Llistxattr(p, nil); err == nil {
			buf = make([]byte, n)
			n, err = unix.Llistxattr(p, buf)
		}
	}
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("list extended attributes of %s: %w", p, err)
	}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		switch name {
		case prefix + "redirect":
			return false, errRedirect
		case prefix + "opaque":
			if dir {
				v := make([]byte, 8)
				m, err := unix.Lgetxattr(p, name, v)
				opaque = err == nil && m == 1 && v[0] == 'y'
			}
		}
	}
	return opaque, nil
}

// missingFrom lists the names in directory base that directory upper lacks.
func missingFrom(base, upper string) ([]string, error) {
	had, err := os.ReadDir(base)
	if err != nil {
		return nil, err
	}
	has, err := os.ReadDir(upper)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names := map[string]bool{}
	for _, de := range has {
		names[de.Name()] = true
	}
	var gone []string
	for _, de := range had {
		if !names[de.Name()] {
			gone = append(gone, de.Name())
		}
	}
	return gone, nil
}

// walkChanges compares the trees base and root with continuity's double
// walk, which any snapshotter's trees allow.
func walkChanges(ctx context.Context, base, root string) ([]fileChange, error) {
	var out []fileChange
	err := cfs.Changes(ctx, base, root, func(k cfs.ChangeKind, p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		p = path.Join("/", filepath.ToSlash(p))
		switch k {
		case cfs.ChangeKindAdd:
			out = append(out, fileChange{Change{Added, p}, fi})
		case cfs.ChangeKindDelete:
			out = append(out, fileChange{Change{Deleted, p}, nil})
		case cfs.ChangeKindModify:
			if fi.IsDir() {
				// Reported by both walks, so a real directory of base.
				if bfi, err := os.Lstat(filepath.Join(base, p)); err == nil && bfi.IsDir() && sameMeta(fi, bfi) {
					return nil
				}
			}
			out = append(out, fileChange{Change{Modified, p}, fi})
		}
		return nil
	})
	return out, err
}

// sameMeta says whether two directories differ in more than their times
// and sizes, which change whenever an entry comes or goes: docker counts
// a directory as changed only for its mode or owner, or for a change
// under it.
func sameMeta(a, b os.FileInfo) bool {
	if a.Mode() != b.Mode() {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Uid == sb.Uid && sa.Gid == sb.Gid
}

// runtimeFiles are the files lepton binds into every container, and
// runtimeDirs the mountpoints the runtime makes for the file systems of
// every container: when the image lacks them they are made in the
// container's writable layer, and docker, which makes them in a layer of
// their own, never lists them.
var (
	runtimeFiles = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", InitPath}
	runtimeDirs  = []string{"/dev", "/dev/mqueue", "/dev/pts", "/dev/shm", "/proc", "/run", "/sys", "/sys/fs/cgroup"}
)

func isRuntimeMountpoint(c fileChange) bool {
	if c.Kind != Added || c.fi == nil {
		return false
	}
	if c.fi.Mode().IsRegular() && c.fi.Size() == 0 {
		return slices.Contains(runtimeFiles, c.Path)
	}
	return c.fi.IsDir() && slices.Contains(runtimeDirs, c.Path)
}

// tidyChanges drops the runtime's mountpoints, lists every directory
// above a change (as C, or A if it is new), and sorts by path.
func tidyChanges(raw []fileChange) []fileChange {
	kept := map[string]fileChange{}
	hidden := map[string]fileChange{}
	for _, c := range raw {
		if isRuntimeMountpoint(c) {
			hidden[c.Path] = c
		} else {
			kept[c.Path] = c
		}
	}
	paths := make([]string, 0, len(kept))
	for p := range kept {
		paths = append(paths, p)
	}
	for _, p := range paths {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if _, ok := kept[dir]; ok {
				break
			}
			if h, ok := hidden[dir]; ok {
				kept[dir] = h // a mountpoint that is more than one
			} else {
				kept[dir] = fileChange{Change{Modified, dir}, nil}
			}
		}
	}
	out := make([]fileChange, 0, len(kept))
	for _, c := range kept {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b fileChange) int { return strings.Compare(a.Path, b.Path) })
	return out
}
