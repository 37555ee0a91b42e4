//go:build !windows

package run

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/cli"
)

// The log is docker's json-file format: one JSON object per line.
const (
	logFile    = "container.log"
	loggerLock = "logger.lock" // held by the logging process while it writes
	maxLogLine = 16 << 10      // longer lines are split, as docker does
)

type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logCmd is the logging binary containerd's shim runs for each start of a
// container (containerd's "binary" log protocol): the container's stdout on
// fd 3, stderr on fd 4, and fd 5 to close once ready. It writes until both
// streams end, holding logger.lock so readers know when the log is whole.
type logCmd struct {
	cli.Command
	Args struct {
		Dir string `positional-arg-name:"<DIR>" required:"yes" description:"Container directory to write container.log in"`
	} `positional-args:"yes"`
}

func (l *logCmd) run(ctx context.Context, a *app, rest []string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	if stdout == nil || stderr == nil || ready == nil {
		return fmt.Errorf("__log is run by containerd's shim, with the container's output on fds 3 and 4")
	}
	lock, err := os.OpenFile(filepath.Join(l.Args.Dir, loggerLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	// A previous run's logger may still be draining: give it a moment.
	for i := 0; i < 200 && unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	out, err := os.OpenFile(filepath.Join(l.Args.Dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
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
			br := bufio.NewReaderSize(s.r, maxLogLine)
			for {
				line, err := br.ReadSlice('\n')
				if len(line) > 0 {
					b, _ := json.Marshal(logEntry{Log: string(line), Stream: s.name, Time: time.Now().UTC()})
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

// logSize is where the log ends now, so an attached run shows only its own
// run's output.
func logSize(dir string) int64 {
	fi, err := os.Stat(filepath.Join(dir, logFile))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitLogger waits, at most for max, until no logging process holds the
// container's log, that is until everything the container wrote is in it.
// The shim closes its ends of the pipes only when the task is deleted, so
// for a task that is kept the wait ends at max; output written before the
// exit is in the log by then all the same.
func waitLogger(dir string, max time.Duration) {
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
