//go:build !windows

package containers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/docker/go-units"
	"golang.org/x/sys/unix"
)

// A container's log is docker's json-file format, one LogEntry a line, in
// <Dir>/container.log. The containerd shim feeds the container's output to
// a logging process (containerd's "binary" log protocol) for each start of
// its task, so output is kept whether or not anyone is attached.
//
// With --log-opt max-size the log rotates as docker's does: once
// container.log holds max-size bytes, it becomes container.log.1 (.1
// becomes .2, and so on), keeping max-file files in all, and a new
// container.log begins. Files are renamed, never truncated, so a reader
// holding one open still reads it whole.
const (
	logFile    = "container.log"
	loggerLock = "logger.lock" // held by the logging process while it writes
	// logLock orders the log's writers (the logging process, an attached
	// run) among themselves and with readers: a writer holds it to append
	// and rotate, a reader while it picks the files to open, so no reader
	// opens the files half-way through a rotation.
	logLock = "log.lock"
	// MaxLogLine is where longer lines are split, as docker does.
	MaxLogLine = 16 << 10
)

// The logging drivers lepton has. local is docker's driver that rotates by
// default; lepton keeps it in json-file's format, uncompressed.
const (
	LogJSONFile = "json-file"
	LogLocal    = "local"
	LogNone     = "none"
)

// ErrLogNotReadable is reading the log of a container run with
// --log-driver none, in docker's words.
var ErrLogNotReadable = errors.New("configured logging driver does not support reading")

// LogConfig is --log-driver and --log-opt, as docker's HostConfig has it.
type LogConfig struct {
	Type   string
	Config map[string]string
}

// LogEntry is one line of a container's log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"` // stdout or stderr
	Time   time.Time `json:"time"`
	// Attrs are docker's extra attributes (--log-opt labels, env, tag),
	// which logs --details shows; lepton writes none yet.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// logLimits say when a log rotates: once its current file holds maxSize
// bytes (0: never), keeping maxFiles files in all, the current one too.
type logLimits struct {
	maxSize  int64
	maxFiles int
}

// CheckLogConfig says whether lepton can keep a log as lc asks. Its
// errors are ErrInvalidArgument, worded for --log-driver and --log-opt.
func CheckLogConfig(lc LogConfig) error {
	_, err := lc.limits()
	return err
}

func (lc LogConfig) limits() (logLimits, error) {
	bad := func(format string, a ...any) (logLimits, error) {
		return logLimits{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, a...))
	}
	l := logLimits{maxFiles: 1} // docker's json-file: one file, never rotated
	switch lc.Type {
	case "", LogJSONFile:
	case LogLocal:
		l = logLimits{maxSize: 20 << 20, maxFiles: 5}
	case LogNone:
		if len(lc.Config) > 0 {
			return bad("--log-opt %s: the none log driver takes no options", sortedKeys(lc.Config)[0])
		}
		return l, nil
	case "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries":
		return bad("--log-driver %s is not supported: lepton has no daemon to forward logs, so it keeps them in files (json-file, local) or not at all (none)", lc.Type)
	default:
		return bad("unknown --log-driver %q: want json-file, local or none", lc.Type)
	}
	for _, k := range sortedKeys(lc.Config) {
		v := lc.Config[k]
		switch k {
		case "max-size":
			n, err := units.RAMInBytes(v)
			if err != nil || n <= 0 {
				return bad("bad --log-opt max-size=%s: want a positive size such as 500k, 10m or 1g", v)
			}
			l.maxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("bad --log-opt max-file=%s: want a whole number of files, 1 or more", v)
			}
			l.maxFiles = n
		case "compress":
			// Rotated files stay plain so that logs -f can follow them.
			if b, err := strconv.ParseBool(v); err != nil || b {
				return bad("--log-opt compress=%s is not supported: lepton keeps rotated logs uncompressed (compress=false is accepted)", v)
			}
		case "labels", "labels-regex", "env", "env-regex", "tag":
			return bad("--log-opt %s is not supported yet: lepton writes no extra attributes (the %s driver takes max-size, max-file and compress=false)", k, lc.Type)
		default:
			return bad("unknown --log-opt %q for the %s log driver: it takes max-size, max-file and compress=false", k, lc.Type)
		}
	}
	return l, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// readLogConfig is how the log in container directory dir is kept, as
// Create wrote it in the monitor's config (the logging process learns
// only dir); a container made before there was one has the default,
// json-file without rotation.
func readLogConfig(dir string) (LogConfig, error) {
	cfg, err := readMonitorConfig(dir)
	if errors.Is(err, os.ErrNotExist) || err == nil && cfg.Log.Type == "" {
		return LogConfig{Type: LogJSONFile}, nil
	}
	return cfg.Log, err
}

// LogPath is where container id's log is.
func (d *Containers) LogPath(id string) string { return LogPath(d.Dir(id)) }

// LogPath is the log in container directory dir.
func LogPath(dir string) string { return filepath.Join(dir, logFile) }

// LogFilePath is the log file in dir n rotations old: container.log for
// 0, container.log.1 for 1, as docker names them.
func LogFilePath(dir string, n int) string {
	if n == 0 {
		return LogPath(dir)
	}
	return LogPath(dir) + "." + strconv.Itoa(n)
}

// LogSize is where the log in dir ends now, so an attached run shows only
// its own run's output.
func LogSize(dir string) int64 {
	fi, err := os.Stat(LogPath(dir))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// LogWriter appends entries to the log in a container directory, rotating
// it as the directory's log config says. Every writer of a log goes
// through one, and they take the log's lock for each entry, so two at once
// (a logging process still draining, an attached run) agree on its files.
type LogWriter struct {
	dir    string
	limits logLimits
	none   bool       // --log-driver none: entries go nowhere
	mu     sync.Mutex // WriteLog's two streams share one writer
	lock   *os.File   // logLock
	f      *os.File   // the current file, for appending
}

// OpenLog opens the log in dir for writing, creating it if need be.
func OpenLog(dir string) (*LogWriter, error) {
	lc, err := readLogConfig(dir)
	if err != nil {
		return nil, err
	}
	lim, err := lc.limits()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, monitorFile), err)
	}
	w := &LogWriter{dir: dir, limits: lim, none: lc.Type == LogNone}
	if w.none {
		return w, nil
	}
	if w.lock, err = os.OpenFile(filepath.Join(dir, logLock), os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, err
	}
	if w.f, err = os.OpenFile(LogPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		w.lock.Close()
		return nil, err
	}
	return w, nil
}

// Write appends e to the log, rotating it first if its current file is
// full (docker rotates before a write, so a file may pass max-size by one
// entry, and a new file never starts empty).
func (w *LogWriter) Write(e LogEntry) error {
	if w.none {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limits.maxSize == 0 {
		// Never rotated (json-file's default): an O_APPEND write is all
		// it takes, as fast as before rotation existed.
		_, err := w.f.Write(b)
		return err
	}
	fd := int(w.lock.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	size, err := w.current()
	if err != nil {
		return err
	}
	if w.limits.maxSize > 0 && size >= w.limits.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	_, err = w.f.Write(b)
	return err
}

// current makes w.f the log's current file again if another writer
// rotated it away, and returns its size.
func (w *LogWriter) current() (int64, error) {
	if w.f != nil {
		mine, err := w.f.Stat()
		now, err2 := os.Stat(LogPath(w.dir))
		if err == nil && err2 == nil && os.SameFile(mine, now) {
			return mine.Size(), nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.OpenFile(LogPath(w.dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	w.f = f
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// rotate moves container.log to .1, .1 to .2 and so on, the oldest falling
// off, and starts a new container.log; with max-file 1 the current file is
// simply replaced. The caller holds the log's lock.
func (w *LogWriter) rotate() error {
	w.f.Close()
	w.f = nil
	if w.limits.maxFiles < 2 {
		if err := os.Remove(LogPath(w.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for i := w.limits.maxFiles - 1; i > 0; i-- {
		if err := os.Rename(LogFilePath(w.dir, i-1), LogFilePath(w.dir, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(LogPath(w.dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	w.f = f
	return nil
}

// Close closes the log; entries written are in it already.
func (w *LogWriter) Close() error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if w.lock != nil {
		w.lock.Close()
		w.lock = nil
	}
	return nil
}

// lockLog takes dir's log lock (unix.LOCK_SH to read, LOCK_EX to write)
// and returns its release. A directory already gone has nothing to lock.
func lockLog(dir string, how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, logLock), os.O_CREATE|os.O_RDWR, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the last descriptor releases the lock
}

// lockForReading takes the lock of the log in dir for reading; a log kept
// by --log-driver none is ErrLogNotReadable.
func lockForReading(dir string) (unlock func(), err error) {
	lc, err := readLogConfig(dir)
	if err != nil {
		return nil, err
	}
	if lc.Type == LogNone {
		return nil, ErrLogNotReadable
	}
	return lockLog(dir, unix.LOCK_SH)
}

// OpenLogFiles opens the log in dir for reading: its files oldest first,
// the current one last, or none if nothing was logged yet. It holds the
// log's lock while it opens them, so no rotation falls in between; once
// open, a file reads whole whatever renames follow. A log kept by
// --log-driver none is ErrLogNotReadable.
func OpenLogFiles(dir string) ([]*os.File, error) {
	unlock, err := lockForReading(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var files []*os.File
	for n := 0; ; n++ {
		f, err := os.Open(LogFilePath(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	slices.Reverse(files)
	return files, nil
}

// OpenLogAt opens the log's current file in dir at offset from, as
// LogSize gave it, for a reader that wants only what comes next; nil if
// there is no log yet. If the log rotated in between, so the current file
// is shorter than from, from is in the file before it.
func OpenLogAt(dir string, from int64) (*os.File, error) {
	unlock, err := lockForReading(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, err := os.Open(LogPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() < from {
		if old, err := os.Open(LogFilePath(dir, 1)); err == nil {
			f.Close()
			f = old
		} else {
			from = 0 // max-file 1: the file before is gone
		}
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NextLogFile is for a reader that has read f, one of dir's log files, to
// its end. While f is the current file it returns nil. Once the log has
// rotated past f, f is whole (the caller reads the rest of it) and
// NextLogFile opens the file that came after it. A reader so far behind
// that the files after f are gone goes on from the oldest one left.
func NextLogFile(dir string, f *os.File) (*os.File, error) {
	mine, err := f.Stat()
	if err != nil {
		return nil, err
	}
	unlock, err := lockLog(dir, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := os.Stat(LogPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // removed with its container: nothing comes after
	}
	if err != nil {
		return nil, err
	}
	if os.SameFile(mine, cur) {
		return nil, nil
	}
	n := 1
	for ; ; n++ {
		fi, err := os.Stat(LogFilePath(dir, n))
		if err != nil {
			break
		}
		if os.SameFile(mine, fi) {
			return os.Open(LogFilePath(dir, n-1))
		}
	}
	// f fell off the end: every file left is newer than it.
	return os.Open(LogFilePath(dir, n-1))
}

// WriteLog is the logging process: it appends what stdout and stderr
// carry to the log in dir until both end, holding the log's lock so that
// readers (WaitLogger) know when it is whole, and closes ready once it
// is ready to read. Under --log-driver none it reads and drops the output,
// so the container never blocks on a full pipe.
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
	out, err := OpenLog(dir)
	if err != nil {
		return err
	}
	defer out.Close()
	ready.Close()

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
					// An entry that cannot be written is lost; the
					// stream is read on regardless, so the container
					// never blocks on it.
					out.Write(LogEntry{Log: string(line), Stream: s.name, Time: time.Now().UTC()})
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
func logIO(u *logURI, terminal bool, stdin string) cio.Creator {
	return func(string) (cio.IO, error) {
		s := u.String()
		return &uriIO{cfg: cio.Config{Stdin: stdin, Stdout: s, Stderr: s, Terminal: terminal}}, nil
	}
}

type uriIO struct{ cfg cio.Config }

func (u *uriIO) Config() cio.Config { return u.cfg }
func (u *uriIO) Cancel()            {}
func (u *uriIO) Wait()              {}
func (u *uriIO) Close() error       { return nil }
