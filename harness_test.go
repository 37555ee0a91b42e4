package main

// The end-to-end harness owns its daemons: a private containerd (own root,
// state and socket under a temporary directory, never the system's), a
// registry on 127.0.0.1, and a busybox image built from Debian's
// busybox-static. Every script gets its own containerd namespace and its own
// LEPTON_HOME, so scripts run in parallel against the one daemon.
//
// LEPTON_TEST_ADDRESS=<socket> uses an already running containerd instead
// (one install.sh started, say). Where CI is set, a containerd that cannot be
// started fails the run instead of skipping every script that needs it.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// world is what the harness set up once for all scripts.
type world struct {
	dir        string // private temporary tree
	address    string // containerd socket; "" when none could be had
	why        string // why there is no containerd
	registry   string // host:port of the loopback registry
	busyboxTar string // OCI archive of the busybox image; "" when not built
	busyboxRef string // where the busybox image sits in the registry
	imageWhy   string // why there is no busybox image

	stop []func()
}

var (
	worldOnce sync.Once
	theWorld  *world
)

// setUp builds the world the first time it is asked for.
func setUp(t *testing.T) *world {
	worldOnce.Do(func() {
		w := &world{}
		theWorld = w
		dir, err := os.MkdirTemp("", "lepton-test-") // short: socket paths are limited to 108 bytes
		if err != nil {
			t.Fatal(err)
		}
		w.dir = dir
		w.startContainerd()
		w.startRegistry(t)
		w.buildBusybox()
	})
	if theWorld.address == "" && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but no containerd could be started: %s", theWorld.why)
	}
	if theWorld.busyboxTar == "" && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but the busybox test image could not be built: %s", theWorld.imageWhy)
	}
	return theWorld
}

func (w *world) tearDown() {
	for i := len(w.stop) - 1; i >= 0; i-- {
		w.stop[i]()
	}
	if w.dir != "" {
		unmountUnder(w.dir)
		os.RemoveAll(w.dir)
	}
}

func (w *world) startContainerd() {
	if a := os.Getenv("LEPTON_TEST_ADDRESS"); a != "" {
		w.address = a
		return
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		w.why = "containerd is not on PATH (run ./install.sh)"
		return
	}
	d := filepath.Join(w.dir, "containerd")
	sock := filepath.Join(d, "containerd.sock")
	cfg := filepath.Join(d, "config.toml")
	os.MkdirAll(d, 0o700)
	// Everything that could touch the host's own containerd set-up is either
	// pointed into d or switched off: the CRI plugins and NRI (which listens
	// on a fixed host socket).
	config := fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri", "io.containerd.podsandbox.controller.v1.podsandbox"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
`, filepath.Join(d, "root"), filepath.Join(d, "state"), sock, sock+".ttrpc", filepath.Join(d, "opt"))
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		w.why = err.Error()
		return
	}
	logf, err := os.Create(filepath.Join(d, "containerd.log"))
	if err != nil {
		w.why = err.Error()
		return
	}
	cmd := exec.Command(bin, "--config", cfg, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.why = fmt.Sprintf("start containerd: %v", err)
		return
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	w.stop = append(w.stop, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			w.why = fmt.Sprintf("containerd exited at start:\n%s", log)
			return
		default:
		}
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			w.address = sock
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.why = "containerd did not open its socket within 30s"
}

func (w *world) startRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	w.registry = l.Addr().String()
	w.stop = append(w.stop, func() { srv.Close() })
}

// buildBusybox makes a one-layer image of Debian's static busybox with a
// link for each of its applets, pushes it to the registry and writes it as
// an OCI archive.
func (w *world) buildBusybox() {
	bb, err := staticBusybox()
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	layerTar, err := busyboxLayer(bb)
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Cmd = []string{"sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		w.imageWhy = err.Error()
		return
	}
	w.busyboxRef = w.registry + "/lepton-test/busybox:latest"
	ref, err := name.ParseReference(w.busyboxRef, name.Insecure)
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	if err := remote.Write(ref, img); err != nil {
		w.imageWhy = fmt.Sprintf("push busybox: %v", err)
		return
	}
	lay := filepath.Join(w.dir, "busybox-oci")
	p, err := layout.Write(lay, empty.Index)
	if err == nil {
		err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": "latest",
			"io.containerd.image.name":          "localhost/busybox:latest",
		}))
	}
	if err == nil {
		w.busyboxTar = filepath.Join(w.dir, "busybox-oci.tar")
		err = tarDir(lay, w.busyboxTar)
	}
	if err != nil {
		w.busyboxTar, w.imageWhy = "", fmt.Sprintf("write busybox OCI archive: %v", err)
	}
}

// staticBusybox finds a statically linked busybox (Debian's busybox-static).
func staticBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p, nil
		}
	}
	return "", errors.New("no statically linked busybox found (apt-get install busybox-static)")
}

func busyboxLayer(bin string) ([]byte, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %v", bin, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dirs := []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "root", "proc", "sys", "dev", "var", "var/www"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: mtime})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(data)), ModTime: mtime})
	tw.Write(data)
	for _, f := range []struct{ name, body string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mtime})
		tw.Write([]byte(f.body))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		p := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "/")
		if p == "" || p == "bin/busybox" {
			continue
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime})
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func tarDir(dir, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// unmountUnder detaches whatever is still mounted below dir (a crashed
// test's snapshot or container rootfs), deepest first, so dir can go.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mnts []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mnts = append(mnts, fields[4])
		}
	}
	for i := len(mnts) - 1; i >= 0; i-- {
		unix.Unmount(mnts[i], unix.MNT_DETACH)
	}
}

// cleanNamespace removes what a script left in its containerd namespace,
// then the namespace itself.
func cleanNamespace(address, ns string) {
	if address == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := containerd.New(address, containerd.WithDefaultNamespace(ns))
	if err != nil {
		return
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, ns)
	cs, _ := c.Containers(ctx)
	for _, ct := range cs {
		if task, err := ct.Task(ctx, nil); err == nil {
			task.Kill(ctx, syscall.SIGKILL)
			if ch, err := task.Wait(ctx); err == nil {
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
				}
			}
			task.Delete(ctx, containerd.WithProcessKill)
		}
		ct.Delete(ctx, containerd.WithSnapshotCleanup)
	}
	is := c.ImageService()
	if imgs, err := is.List(ctx); err == nil {
		for _, img := range imgs {
			is.Delete(ctx, img.Name)
		}
	}
	if ls, err := c.LeasesService().List(ctx); err == nil {
		for _, l := range ls {
			c.LeasesService().Delete(ctx, l)
		}
	}
	c.NamespaceService().Delete(ctx, ns)
}

var nsUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// scriptNamespace is a containerd namespace unique to one script run.
func scriptNamespace(script string) string {
	base := strings.Trim(nsUnsafe.ReplaceAllString(strings.ToLower(script), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	b := make([]byte, 4)
	rand.Read(b)
	return "lt-" + base + "-" + hex.EncodeToString(b)
}
