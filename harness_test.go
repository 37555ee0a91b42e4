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
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/internal/testimage"
	"github.com/lepton-project/lepton/internal/testns"
)

// world is what the harness set up once for all scripts.
type world struct {
	dir             string // private temporary tree
	address         string // containerd socket; "" when none could be had
	why             string // why there is no containerd
	registry        string // host:port of the loopback registry
	busyboxTar      string // OCI archive of the busybox image; "" when not built
	busyboxRef      string // where the busybox image sits in the registry
	imageWhy        string // why there is no busybox image
	twoLayer        string // a two-layer image in the registry, for the flaky face
	concurrent      string // an image for the concurrent-pull script
	concurrentLayer string // its own layer's digest
	faces           faces

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
	// With -count=N the next TestScripts builds a world of its own.
	worldOnce, theWorld = sync.Once{}, nil
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

# Scripts share the daemon but not its content: one script's pull must not
# make another's free.
[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"

# Restart policies are tested; checking every second keeps those tests short.
[plugins."io.containerd.monitor.container.v1.restart"]
  interval = "1s"
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
		killShims(sock)
		// A task containerd's restart monitor started while its namespace
		// was being emptied leaves cgroups that only go once its shim has.
		usedNamespaces.Range(func(ns, _ any) bool {
			testns.RemoveCgroups(ns.(string))
			return true
		})
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
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	w.registry = l.Addr().String()
	w.stop = append(w.stop, func() { srv.Close() })
	if w.faces, err = w.startFaces(h); err != nil {
		t.Fatalf("registry faces: %v", err)
	}
}

// buildBusybox pushes the busybox test image to the registry and writes it
// as an OCI archive for "ctr images import".
func (w *world) buildBusybox() {
	img, err := testimage.Busybox()
	if err != nil {
		w.imageWhy = err.Error()
		return
	}
	w.busyboxRef = w.registry + "/lepton-test/busybox:latest"
	if err := testimage.Push(img, w.busyboxRef); err != nil {
		w.imageWhy = err.Error()
		return
	}
	w.busyboxTar = filepath.Join(w.dir, "busybox-oci.tar")
	if err := testimage.WriteOCI(img, w.busyboxTar, testimage.LocalName); err != nil {
		w.busyboxTar, w.imageWhy = "", err.Error()
		return
	}
	// A second layer of random data, which the flaky face breaks once.
	two, extra, err := testimage.WithRandomLayer(img, 2<<20)
	if err == nil {
		w.twoLayer = w.registry + "/lepton-test/twolayer:latest"
		err = testimage.Push(two, w.twoLayer)
	}
	if err != nil {
		w.busyboxTar, w.imageWhy = "", err.Error()
		return
	}
	w.faces.flakyDigest = extra
	// And one more, pulled by racing processes through the counting face.
	conc, layer, err := testimage.WithRandomLayer(img, 1<<20)
	if err == nil {
		w.concurrent = w.registry + "/lepton-test/concurrent:latest"
		err = testimage.Push(conc, w.concurrent)
	}
	if err != nil {
		w.busyboxTar, w.imageWhy = "", err.Error()
		return
	}
	w.concurrentLayer = layer
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

// killShims kills what outlived the harness's own containerd at socket
// sock: shims still serving a task (one containerd's restart monitor made
// as its container went, say) and their children (runc init, lepton's
// monitor). They are this run's, found by the -address they were given.
func killShims(sock string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var shims []int
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "containerd-shim") {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if i := slices.Index(args, "-address"); i >= 0 && i+1 < len(args) && args[i+1] == sock {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			shims = append(shims, pid)
		}
	}
	for _, f := range procs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if slices.Contains(shims, proc.Parent(pid)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, pid := range shims {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// cleanNamespace removes what a script left in its containerd namespace,
// then the namespace itself, and the one buildkitd keeps its build
// history in.
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
	usedNamespaces.Store(ns, true)
	testns.Remove(ctx, c, ns)
	testns.Remove(ctx, c, ns+"_history")
}

// usedNamespaces are the namespaces this run's scripts had.
var usedNamespaces sync.Map

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
