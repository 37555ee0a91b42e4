//go:build !windows

package containers

import (
	"bufio"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"
)

// A container's log is docker's json-file format, one LogEntry a line, in
// <Dir>/container.log. The containerd shim feeds the container's output to
// a logging process (containerd's "binary" log protocol) for each start of
// its task, so output is kept whether or not anyone is attached.
const (
	logFile    = "container.log"
	loggerLock = "logger.lock" // held by the logging process while it writes
	// MaxLogLine is where longer lines are split, as docker does.
	MaxLogLine = 16 << 10
)

// LogConfig is --log-driver and --log-opt, as docker's HostConfig has it.
type LogConfig struct {
	Type   string
	Config map[string]string `json:",omitempty"`
}

// LogEntry is one line of a container's log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"` // stdout or stderr
	Time   time.Time `json:"time"`
}

// LogPath is where container id's log is.
func (d *Containers) LogPath(id string) string { return LogPath(d.Dir(id)) }

// LogPath is the log in container directory dir.
func LogPath(dir string) string { return filepath.Join(dir, logFile) }

// LogSize is where the log in dir ends now, so an attached run shows only
// its own run's output.
func LogSize(dir string) int64 {
	fi, err := os.Stat(LogPath(dir))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// WriteLog is the logging process: it appends what stdout and stderr
// carry to the log in dir until both end, holding the log's lock so that
// readers (WaitLogger) know when it is whole, and closes ready once it
// is ready to read.
func WriteLog(dir string, stdout, stderr io.Reader, ready io.Closer) error {
	lock, err := os.OpenFile(filepath.Join(dir, loggerLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	// A previous run's logger may still be draining: give it a moment.
	for i := 0; i < 200 && unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	out, err := os.OpenFile(LogPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	ready.Close()

	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range []struct {
		r    io.Reader
		name string
	}{{stdout, "stdout"}, {stderr, "stderr"}} {
		wg.Go(func() {
			br := bufio.NewReaderSize(s.r, MaxLogLine)
			for {
				line, err := br.ReadSlice('\n')
				if len(line) > 0 {
					b, _ := json.Marshal(LogEntry{Log: string(line), Stream: s.name, Time: time.Now().UTC()})
					b = append(b, '\n')
					mu.Lock()
					out.Write(b)
					mu.Unlock()
				}
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// WaitLogger waits, at most for max, until no logging process holds the
// log in dir, that is until everything the container wrote is in it. The
// shim closes its ends of the pipes only when the task is deleted, so for
// a task that is kept the wait ends at max; output written before the exit
// is in the log by then all the same.
func WaitLogger(dir string, max time.Duration) {
	f, err := os.OpenFile(filepath.Join(dir, loggerLock), os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logURI is the binary:// URI that makes the shim run lepton as the
// container's logging binary.
type logURI struct{ self, dir string }

func (l *logURI) String() string {
	u := url.URL{Scheme: "binary", Path: l.self, RawQuery: url.Values{"__log": {l.dir}}.Encode()}
	return u.String()
}

// logIO hands the process's output to lepton's logging binary. Unlike
// cio.BinaryIO it can ask for a terminal (run -dt), which the shim then
// copies to the logging binary as stdout.
func logIO(u *logURI, terminal bool) cio.Creator {
	return func(string) (cio.IO, error) {
		s := u.String()
		return &uriIO{cfg: cio.Config{Stdout: s, Stderr: s, Terminal: terminal}}, nil
	}
}

type uriIO struct{ cfg cio.Config }

func (u *uriIO) Config() cio.Config { return u.cfg }
func (u *uriIO) Cancel()            {}
func (u *uriIO) Wait()              {}
func (u *uriIO) Close() error       { return nil }
