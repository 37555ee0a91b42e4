//go:build !windows

package containers

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/store"
)

// A container's monitor is the process that lives exactly as long as its
// task: the logging binary the shim starts for each start (lepton's hidden
// "__log" command). lepton has no daemon, so the monitor does a daemon's
// per-container work:
//   - it writes the log (WriteLog);
//   - it serves <Dir>/attach.sock, so attach, start -a and run -t see the
//     output live and can type into a terminal's input;
//   - it holds the container's input FIFO open (<Dir>/stdin, for -it), so
//     the shell inside keeps its terminal after every attached lepton
//     detached;
//   - it runs the healthchecks (RunHealthchecks);
//   - for a --rm container, it has the container removed at its exit.
const (
	attachSock  = "attach.sock"
	stdinFIFO   = "stdin"
	monitorFile = "monitor.json" // what the monitor cannot learn from the shim
)

// Frames on the attach socket: a byte naming the stream, a big-endian
// uint32 length, the bytes. The monitor sends FrameReady once a client is
// registered (output from then on reaches it), then FrameStdout and
// FrameStderr; a client sends FrameStdin.
const (
	FrameStdin  = 0
	FrameStdout = 1
	FrameStderr = 2
	FrameReady  = 3
)

// monitorConfig is <Dir>/monitor.json, written by Create.
type monitorConfig struct {
	Address    string // containerd's socket
	Namespace  string
	DataRoot   string
	Self       string    // the lepton binary, to run "container rm" with
	Health     bool      // the container has healthchecks to run
	AutoRemove bool      // run --rm: removed at its exit
	Log        LogConfig // how the log is kept (see OpenLog)
}

func (d *Containers) writeMonitorConfig(dir string, cfg *Config) error {
	if err := CheckLogConfig(cfg.HostConfig.LogConfig); err != nil {
		return err
	}
	self, err := d.loggerPath()
	if err != nil {
		return err
	}
	b, err := json.Marshal(monitorConfig{Address: d.address(), Namespace: d.namespace, DataRoot: d.dataRoot, Self: self,
		Health: HasHealthcheck(cfg.Healthcheck), AutoRemove: cfg.HostConfig.AutoRemove, Log: cfg.HostConfig.LogConfig})
	if err != nil {
		return err
	}
	// Whole or not at all: a logger never reads half of it.
	return store.WriteFile(filepath.Join(dir, monitorFile), b, 0o600)
}

func readMonitorConfig(dir string) (monitorConfig, error) {
	var cfg monitorConfig
	b, err := os.ReadFile(filepath.Join(dir, monitorFile))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, monitorFile), err)
	}
	return cfg, nil
}

// Monitor is the monitor of the container whose directory is dir and ID
// id: the shim hands it the container's output on stdout and stderr, and
// ready to close once it can take it. It returns when the output ends,
// which is when the task is deleted (with a terminal: when it exits).
func Monitor(dir, id string, stdout, stderr io.Reader, ready io.Closer) error {
	m := &monitor{dir: dir, id: id, clients: map[*attachClient]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cfg, err := readMonitorConfig(dir); err == nil && cfg.Address != "" {
		m.cfg = &cfg
	}
	if in, err := os.OpenFile(filepath.Join(dir, stdinFIFO), os.O_RDWR, 0); err == nil {
		// Read-write: opening never waits, and the FIFO never sees its
		// last writer go, so the container's input stays open.
		m.stdin = in
		defer in.Close()
	}
	if ln, err := listenUnix(dir, attachSock); err == nil {
		defer os.Remove(filepath.Join(dir, attachSock))
		defer ln.Close()
		go m.serve(ln)
	}
	if m.cfg != nil && m.cfg.Health {
		go m.health(ctx)
	}
	if m.cfg != nil && m.cfg.AutoRemove {
		m.removing.Add(1)
		go m.removeAtExit(ctx)
	}
	err := WriteLog(dir, &teeReader{r: stdout, m: m, stream: FrameStdout}, &teeReader{r: stderr, m: m, stream: FrameStderr}, ready)
	m.closeClients()
	// With a terminal the output ends at the exit, before the removal
	// this monitor started is done: let it be handed on.
	m.removing.Wait()
	return err
}

type monitor struct {
	dir, id  string
	cfg      *monitorConfig
	stdin    *os.File
	mu       sync.Mutex
	clients  map[*attachClient]bool
	removing sync.WaitGroup
}

type attachClient struct {
	conn net.Conn
	out  chan []byte
}

// container connects to containerd and loads the monitored container;
// closing the client is the caller's.
func (m *monitor) container(ctx context.Context) (*containerd.Client, containerd.Container, error) {
	c, err := containerd.New(m.cfg.Address, containerd.WithDefaultNamespace(m.cfg.Namespace))
	if err != nil {
		return nil, nil, err
	}
	ctr, err := c.LoadContainer(ctx, m.id)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, ctr, nil
}

// health runs the container's healthchecks.
func (m *monitor) health(ctx context.Context) {
	c, ctr, err := m.container(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return
	}
	RunHealthchecks(ctx, ctr, m.dir, ConfigOf(info).Healthcheck, HealthEvents(c.EventService(), m.cfg.Namespace))
}

// removeAtExit has a --rm container removed once its task has stopped, as
// docker's daemon does, whoever started it and whether or not anyone is
// attached. The removal runs as a "lepton container rm" process of its
// own: removing deletes the task, and the shim then ends this monitor.
func (m *monitor) removeAtExit(ctx context.Context) {
	defer m.removing.Done()
	if err := m.waitStopped(ctx); err != nil {
		return
	}
	m.waitStarted(ctx)
	cmd := exec.Command(m.cfg.Self, "container", "--address", m.cfg.Address, "--namespace", m.cfg.Namespace,
		"--data-root", m.cfg.DataRoot, "rm", "-f", "-v", m.id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// waitStopped returns once the task has stopped. The shim starts the
// monitor while it makes the task, so at first the task may not be there
// yet; once seen, its absence means it was deleted. A wait that fails
// (containerd restarting) is no exit: it waits again, for a while.
func (m *monitor) waitStopped(ctx context.Context) error {
	seen := false
	var lastErr error
	for try := 0; try < 600; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		c, ctr, err := m.container(ctx)
		if errdefs.IsNotFound(err) {
			return err // the container is gone: nothing to remove
		}
		if err != nil {
			lastErr = err
			continue
		}
		err = func() error {
			defer c.Close()
			task, err := ctr.Task(ctx, nil)
			if err != nil {
				return err
			}
			seen = true
			statusC, err := task.Wait(ctx)
			if err != nil {
				return err
			}
			return (<-statusC).Error()
		}()
		switch {
		case err == nil, seen && errdefs.IsNotFound(err):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		lastErr = err
	}
	return lastErr
}

// waitStarted returns once no lepton is creating or starting the
// container. A command quick enough exits while containerd still answers
// the start (it asks the shim for the task's state after starting it);
// deleting the task then would fail a start whose command ran. The
// starter's name claim says it is at work; a starter that dies, or 30
// seconds, end the wait.
func (m *monitor) waitStarted(ctx context.Context) {
	c, ctr, err := m.container(ctx)
	if err != nil {
		return
	}
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	c.Close()
	name := info.Labels[LabelName]
	if err != nil || store.ValidateKey(name) != nil {
		return
	}
	s, err := store.Open(ctx, m.cfg.DataRoot)
	if err != nil {
		return
	}
	names, err := OpenNames(s, m.cfg.Namespace)
	if err != nil {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		cl, err := names.Get(ctx, name)
		if err != nil || cl.ID != m.id || !cl.Busy() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *monitor) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		cl := &attachClient{conn: conn, out: make(chan []byte, 1024)}
		// Ready goes first, so the client knows output reaches it from
		// here on (start -a attaches before the process starts).
		cl.out <- AppendFrame(nil, FrameReady, nil)
		m.mu.Lock()
		m.clients[cl] = true
		m.mu.Unlock()
		go func() {
			for b := range cl.out {
				if _, err := conn.Write(b); err != nil {
					break
				}
			}
			m.drop(cl)
			conn.Close()
		}()
		go m.readClient(cl)
	}
}

// readClient passes what a client types to the container's input.
func (m *monitor) readClient(cl *attachClient) {
	defer m.drop(cl)
	for {
		kind, data, err := ReadFrame(cl.conn)
		if err != nil {
			return
		}
		if kind == FrameStdin && m.stdin != nil {
			m.stdin.Write(data)
		}
	}
}

// drop forgets a client that left or cannot keep up; its connection
// closes once what was queued for it is written.
func (m *monitor) drop(cl *attachClient) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients[cl] {
		delete(m.clients, cl)
		close(cl.out)
	}
}

// broadcast sends output to every client. One that cannot keep up is
// dropped (its session ends and says so) rather than let it stall the
// container's output and its log.
func (m *monitor) broadcast(stream byte, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.clients) == 0 {
		return
	}
	frame := AppendFrame(nil, stream, p)
	for cl := range m.clients {
		select {
		case cl.out <- frame:
		default:
			delete(m.clients, cl)
			close(cl.out)
		}
	}
}

func (m *monitor) closeClients() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for cl := range m.clients {
		delete(m.clients, cl)
		close(cl.out)
	}
}

type teeReader struct {
	r      io.Reader
	m      *monitor
	stream byte
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.m.broadcast(t.stream, p[:n])
	}
	return n, err
}

// AppendFrame appends one attach frame to b.
func AppendFrame(b []byte, kind byte, data []byte) []byte {
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// ReadFrame reads one attach frame.
func ReadFrame(r io.Reader) (kind byte, data []byte, err error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("attach frame of %d bytes: too big", n)
	}
	data = make([]byte, n)
	_, err = io.ReadFull(r, data)
	return h[0], data, err
}

// listenUnix listens on dir/name. A container directory is too deep for
// the 108 bytes a socket's path may have, so the path goes through a
// descriptor of the directory: /proc/self/fd/N/name. That path means
// nothing once the descriptor is closed, so the caller removes the socket
// by its real path.
func listenUnix(dir, name string) (net.Listener, error) {
	return withDirPath(dir, name, func(path string) (net.Listener, error) {
		os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err == nil {
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
		}
		return ln, err
	})
}

func dialUnix(dir, name string) (net.Conn, error) {
	return withDirPath(dir, name, func(path string) (net.Conn, error) {
		return net.Dial("unix", path)
	})
}

func withDirPath[T any](dir, name string, fn func(string) (T, error)) (T, error) {
	f, err := os.Open(dir)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", f.Fd(), name))
}

// DialAttach connects to the monitor of container id's running task, to
// read its output as frames (ReadFrame) and send it input (AppendFrame).
// It fails if the task has no monitor: a run attached without one, or one
// started before lepton had monitors.
func (d *Containers) DialAttach(id string) (net.Conn, error) {
	return dialUnix(d.Dir(id), attachSock)
}
