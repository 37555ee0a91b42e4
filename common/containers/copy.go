//go:build !windows

package containers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/text"
)

// CopyOptions are docker cp's options that reach the copy itself.
type CopyOptions struct {
	// Archive keeps the owners (UID and GID) and whole modes, set-ID and
	// sticky bits included, of what is copied; without it the files are
	// the copier's own, with their modes less the umask, as cp(1) makes
	// them.
	Archive bool
	// FollowLink copies what a symbolic link at the source points to
	// rather than the link itself.
	FollowLink bool
}

// SplitCopyPath splits docker cp's "CONTAINER:PATH" argument into the
// container and the path; ctr is "" for a host path or "-". A host path
// that merely holds a colon must start with / or . to be read as one, as
// with docker: anything else before a colon names a container.
func SplitCopyPath(arg string) (ctr, p string) {
	if arg == "-" || strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	if i := strings.IndexByte(arg, ':'); i > 0 {
		return arg[:i], arg[i+1:]
	}
	return "", arg
}

// CheckCopyPaths fails with ErrInvalidArgument unless exactly one of src
// and dst names a container, as Copy requires. It needs no containerd, so
// a command can reject its arguments before connecting.
func CheckCopyPaths(src, dst string) error {
	srcCtr, _ := SplitCopyPath(src)
	dstCtr, _ := SplitCopyPath(dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errdefs.ErrInvalidArgument.WithMessage("copying between two containers is not supported: copy to the host first")
	case srcCtr == "" && dstCtr == "":
		return errdefs.ErrInvalidArgument.WithMessage("one of SRC and DEST must be CONTAINER:PATH")
	}
	return nil
}

// Copy copies between a container path and a host path, or a tar stream
// on stdin (src "-") or stdout (dst "-"), as docker cp does, and returns
// the bytes of tar stream it took (0 for "-", whose stream is the
// caller's). src and dst are SplitCopyPath's arguments; exactly one names
// a container (see CheckCopyPaths), resolved with Resolve, running or
// not: a running one is read and written through its process's root, so
// its volumes are part of it, a stopped one through its snapshot.
//
// Every path inside the container is resolved as the container would see
// it (its symlinks are followed within its root), and every file
// operation goes through an os.Root on the container's root, so no
// symlink in the container can make the copy read or write outside it. A
// symbolic link at the source itself is copied as a link unless
// o.FollowLink says to follow it.
//
// A source missing in the container fails with ErrNotFound, as does a
// missing host source; a tar stream from stdin needs an existing
// directory in the container (ErrInvalidArgument otherwise), and its
// entries may not climb out of it.
func (d *Containers) Copy(ctx context.Context, src, dst string, stdin io.Reader, stdout io.Writer, o CopyOptions) (int64, error) {
	if err := CheckCopyPaths(src, dst); err != nil {
		return 0, err
	}
	srcCtr, srcPath := SplitCopyPath(src)
	dstCtr, dstPath := SplitCopyPath(dst)
	ref, cpath := srcCtr, srcPath
	if dstCtr != "" {
		ref, cpath = dstCtr, dstPath
	}
	if cpath == "" {
		cpath = "/"
	}
	info, err := d.Resolve(ctx, ref)
	if err != nil {
		return 0, err
	}
	rootDir, release, err := d.containerRoot(ctx, info)
	if err != nil {
		return 0, err
	}
	defer release()
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	if srcCtr != "" {
		rel, err := resolveSrc(root, cpath, o.FollowLink)
		if err != nil {
			return 0, err
		}
		if _, err := root.Lstat(rel); err != nil {
			return 0, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such file or directory in container %s: %s", text.Quote(ref), text.Quote(cpath)))
		}
		if dstPath == "-" {
			return 0, WriteTar(stdout, root, rel, entryName(cpath))
		}
		return copyOut(root, rel, entryName(cpath), dstPath, o)
	}
	rel, err := resolveIn(root, cpath)
	if err != nil {
		return 0, err
	}
	if srcPath == "-" {
		fi, err := root.Stat(rel)
		if err != nil || !fi.IsDir() {
			return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("destination %s in container %s must be an existing directory to extract a tar stream into", text.Quote(cpath), text.Quote(ref)))
		}
		return 0, extractTar(stdin, root, rel, o)
	}
	return copyIn(root, srcPath, rel, o)
}

// entryName is what the copy of cpath is called: its last element, as
// docker names it, where "/." keeps docker's meaning ("the contents of").
// The root and a path ending in ".." have no last element to speak of:
// theirs is the directory they stand for, and the root's is ".", so that
// "cp CONTAINER:/ -" writes bin/sh, never /bin/sh or ../bin/sh.
func entryName(cpath string) string {
	name := path.Base(cpath)
	if name == ".." {
		name = path.Base(path.Clean("/" + cpath))
	}
	if name == "/" {
		return "."
	}
	return name
}

// containerRoot is a host directory showing the container's file system:
// the running process's root (with its volumes), or else its snapshot
// mounted for the occasion.
func (d *Containers) containerRoot(ctx context.Context, info containers.Container) (string, func(), error) {
	if ctr, err := d.client.LoadContainer(ctx, info.ID); err == nil {
		if task, err := ctr.Task(ctx, nil); err == nil {
			if st, err := task.Status(ctx); err == nil && st.Status == containerd.Running {
				return "/proc/" + strconv.Itoa(int(task.Pid())) + "/root", func() {}, nil
			}
		}
	}
	return d.MountSnapshot(ctx, info, false)
}

// resolveSrc is resolveIn for a copy's source: a symbolic link at the end
// of p is the link itself, unless follow is set or p ends in "/" or "/."
// (the contents of what it names).
func resolveSrc(root *os.Root, p string, follow bool) (string, error) {
	clean := path.Clean("/" + p)
	if follow || clean == "/" || strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
		return resolveIn(root, p)
	}
	dir, err := resolveIn(root, path.Dir(clean))
	if err != nil {
		return "", err
	}
	return path.Join(dir, path.Base(clean)), nil
}

// resolveIn resolves p inside root the way the container would: symlinks
// are followed, an absolute target starts again at the root, and ".."
// never climbs above it. The result is relative to root.
func resolveIn(root *os.Root, p string) (string, error) {
	todo := strings.Split(path.Clean("/"+p), "/")
	var done []string
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, part)...)
		fi, err := root.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, part) // a missing last part is for the caller to create
			continue
		}
		if hops++; hops > 40 {
			return "", errdefs.ErrInvalidArgument.WithMessage("too many levels of symbolic links in " + text.Quote(p))
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// WriteTar streams rel of root (a file or a tree) as a tar archive whose
// top entry is called name ("." for an archive of rel's contents, as
// export writes). Reading through root keeps the tree's symbolic links
// from leading outside it.
// The tree may be a running container's, changing while it is read: what
// vanishes on the way is left out rather than failing the copy, and each
// file goes in at the size it had when it was opened. The kernel's pseudo
// file systems (/proc, /sys, ...) go in as their empty mount points, as
// with docker cp: their files are kernel state, not the container's data.
func WriteTar(w io.Writer, root *os.Root, rel, name string) error {
	tw := tar.NewWriter(w)
	// Only the top may not vanish: that is the user's own request.
	gone := func(p string, err error) error {
		if p != rel && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	// A link at the top is the one entry: WalkDir would follow it.
	if fi, err := root.Lstat(rel); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		link, err := root.Readlink(rel)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = name
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		return tw.Close()
	}
	err := fs.WalkDir(root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return gone(p, err)
		}
		fi, err := root.Lstat(p)
		if err != nil {
			return gone(p, err)
		}
		var f *os.File
		switch {
		case fi.Mode()&fs.ModeSocket != 0:
			return nil // tar has no sockets, and a socket holds no data
		case fi.Mode().IsRegular():
			if f, fi, err = openRegular(root, p); err != nil || f == nil {
				return gone(p, err)
			}
			defer f.Close()
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = root.Readlink(p); err != nil {
				return gone(p, err)
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		inner := strings.TrimPrefix(strings.TrimPrefix(p, rel), "/")
		h.Name = path.Join(name, inner)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		switch {
		case f != nil:
			return copyExactly(tw, f, h.Size)
		case fi.IsDir() && pseudoFS(root, p):
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// openRegular opens p for archiving, with the file's own stat: the one
// taken before may be stale in a running container. A path that is no
// longer a regular file by then is skipped (nil file), and O_NONBLOCK
// keeps a FIFO put in its place from hanging the copy.
func openRegular(root *os.Root, p string) (*os.File, fs.FileInfo, error) {
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// copyExactly writes exactly size bytes of r, the size the tar header
// promised, which cannot be taken back once written: what a file grew by
// since is left out, what it shrank by is made up with zeros.
func copyExactly(w io.Writer, r io.Reader, size int64) error {
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return err
	}
	_, err = io.CopyN(w, zeros{}, size-n)
	return err
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// copyOut copies rel from the container to the host path dst: into dst
// when it is an existing directory, else as dst. It returns the size of
// the tar stream it went through.
func copyOut(root *os.Root, rel, name, dst string, o CopyOptions) (int64, error) {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, name)
	}
	hostRoot, err := os.OpenRoot(filepath.Dir(dst))
	if err != nil {
		return 0, err
	}
	defer hostRoot.Close()
	return pipeTar(func(w io.Writer) error { return WriteTar(w, root, rel, ".") }, hostRoot, filepath.Base(dst), o)
}

// copyIn copies the host path src into the container at rel: into rel when
// it is an existing directory, else as rel; with o.FollowLink, a link at src
// is copied as what it points to, under the link's name.
func copyIn(root *os.Root, src, rel string, o CopyOptions) (int64, error) {
	if _, err := os.Lstat(src); err != nil {
		return 0, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such file or directory: %s", text.Quote(src)))
	}
	dstName := rel
	if fi, err := root.Stat(rel); err == nil && fi.IsDir() {
		dstName = path.Join(rel, filepath.Base(src))
	}
	from := filepath.Clean(src)
	if o.FollowLink {
		target, err := filepath.EvalSymlinks(from)
		if err != nil {
			return 0, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("follow %s: %v", text.Quote(src), err))
		}
		from = target
	}
	srcRoot, err := os.OpenRoot(filepath.Dir(from))
	if err != nil {
		return 0, err
	}
	defer srcRoot.Close()
	sub, err := root.OpenRoot(path.Dir(dstName))
	if err != nil {
		return 0, fmt.Errorf("destination directory %s: %w", text.Quote(path.Dir(dstName)), err)
	}
	defer sub.Close()
	return pipeTar(func(w io.Writer) error { return WriteTar(w, srcRoot, filepath.Base(from), ".") }, sub, path.Base(dstName), o)
}

// pipeTar unpacks what write writes into root as as, and returns the
// size of the tar stream.
func pipeTar(write func(io.Writer) error, root *os.Root, as string, o CopyOptions) (int64, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	cr := &countingReader{r: pr}
	err := extractTarAs(cr, root, as, o)
	pr.CloseWithError(errors.New("copy ended")) // a writer still going stops
	return cr.n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// extractTar unpacks a tar stream into dir within root. Entries are
// confined to root whatever their names or links say.
func extractTar(r io.Reader, root *os.Root, dir string, o CopyOptions) error {
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer sub.Close()
	return extractTarAs(r, sub, "", o)
}

// extractTarAs unpacks a tar stream into root; with as set, the stream's
// top entry "." is renamed to as. With o.Archive, each entry gets the
// owner and the mode (set-ID and sticky bits too) the stream gives it;
// without, the copier's own and the mode less the umask.
func extractTarAs(r io.Reader, root *os.Root, as string, o CopyOptions) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
		name := path.Clean(h.Name)
		if as != "" {
			name = path.Join(as, name)
		}
		if name == "." || strings.HasPrefix(name, "../") || name == ".." || path.IsAbs(name) {
			if name == "." {
				continue
			}
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("tar entry %q points outside the destination", h.Name))
		}
		mode := fs.FileMode(h.Mode) & fs.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return err
			}
		default:
			// devices, fifos and hard links are skipped: cp is for files
			continue
		}
		if o.Archive {
			if err := keepOwner(root, name, h); err != nil {
				return err
			}
		}
	}
}

// keepOwner gives name the owner and, unless it is a link, the whole mode
// of its tar entry h; the mode after the owner, since chown clears the
// set-ID bits.
func keepOwner(root *os.Root, name string, h *tar.Header) error {
	if err := root.Lchown(name, h.Uid, h.Gid); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeSymlink {
		return nil
	}
	return root.Chmod(name, h.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}
