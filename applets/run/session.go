//go:build !windows

package run

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// session is lepton attached to a container through its monitor (run -t,
// start -a, attach): the container's output goes to our streams as it
// comes, and with input, what we type goes to the container's terminal,
// until the detach keys are typed.
type session struct {
	conn     net.Conn
	con      console.Console // our terminal in raw mode, for -it
	size     console.Console // our terminal, whose size the container's follows
	detached chan struct{}   // closed when the detach keys were typed
	outDone  chan struct{}   // closed when the monitor ended the output
	once     sync.Once
}

// openSession attaches to container id's monitor. With input, our standard
// input is sent on, with the detach keys (docker's format) taken out.
func (a *app) openSession(cs *containers.Containers, id string, input bool, detachKeys string) (*session, error) {
	keys, err := parseDetachKeys(detachKeys)
	if err != nil {
		return nil, err
	}
	conn, err := cs.DialAttach(id)
	if err != nil {
		return nil, errdefs.ErrUnavailable.WithMessage("cannot attach: the container's monitor does not answer (" + err.Error() + ")")
	}
	// The monitor says when output reaches us: start -a and run -t start
	// the process only then, so its first line is not lost.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if kind, _, err := containers.ReadFrame(conn); err != nil || kind != containers.FrameReady {
		conn.Close()
		return nil, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("cannot attach: the container's monitor did not answer (%v)", err))
	}
	conn.SetReadDeadline(time.Time{})
	s := &session{conn: conn, detached: make(chan struct{}), outDone: make(chan struct{})}
	// Our terminal's size is the container's, with or without input.
	for _, f := range []any{a.env.Stdin, a.env.Stdout} {
		if f, ok := f.(*os.File); ok && s.size == nil {
			if con, err := console.ConsoleFromFile(f); err == nil {
				s.size = con
			}
		}
	}
	if input {
		if f, ok := a.env.Stdin.(*os.File); ok {
			if con, err := console.ConsoleFromFile(f); err == nil {
				if err := con.SetRaw(); err != nil {
					conn.Close()
					return nil, err
				}
				s.con, s.size = con, con
			}
		}
		go s.sendInput(a.env.Stdin, keys)
	}
	go func() {
		defer close(s.outDone)
		for {
			kind, data, err := containers.ReadFrame(conn)
			if err != nil {
				return
			}
			switch kind {
			case containers.FrameStdout:
				a.env.Stdout.Write(data)
			case containers.FrameStderr:
				a.env.Stderr.Write(data)
			}
		}
	}()
	return s, nil
}

// sendInput copies in to the container, less the detach keys.
func (s *session) sendInput(in io.Reader, keys []byte) {
	r := containers.NewDetachReader(in, keys, s.detached)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if s.send(buf[:n]) != nil || err != nil {
			return // our input ended; the container's stays open
		}
	}
}

func (s *session) send(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_, err := s.conn.Write(containers.AppendFrame(nil, containers.FrameStdin, p))
	return err
}

// followSize keeps the container's terminal the size of ours.
func (s *session) followSize(ctx context.Context, p containerd.Process) {
	containers.FollowSize(ctx, s.size, p)
}

// drain waits a little for the output still on its way after an exit.
func (s *session) drain(max time.Duration) {
	select {
	case <-s.outDone:
	case <-time.After(max):
	}
}

// close restores our terminal and ends the attachment; safe to repeat.
func (s *session) close() {
	s.once.Do(func() {
		if s.con != nil {
			s.con.Reset()
		}
		s.conn.Close()
	})
}

// wait is an attached session's end: the task's exit (its code), or a
// detach (the keys, or when signals are not passed on, an interrupt of
// lepton: stop's end). Signals lepton gets go to the task when sigProxy.
// The owner of the exit (run, start -a) records it and deletes the task,
// which ends the output; attach only waits for the rest to arrive.
func (s *session) wait(ctx context.Context, stop <-chan struct{}, cs *containers.Containers, ctr containerd.Container, task containerd.Task, statusC <-chan containerd.ExitStatus, sigProxy, owner bool) (code int, detached bool, err error) {
	sigs := make(chan os.Signal, 4)
	if sigProxy {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
		defer signal.Stop(sigs)
		stop = nil
	}
	outDone := s.outDone
	for {
		select {
		case sig := <-sigs:
			task.Kill(ctx, sig.(syscall.Signal))
		case <-s.detached:
			return 0, true, nil
		case <-stop:
			return 0, true, nil
		case <-outDone:
			// The monitor ended our attachment: the task's end, or we
			// could not keep up (or it died). Give the exit a moment.
			select {
			case st := <-statusC:
				statusC = oneStatus(st)
				outDone = nil
				continue
			case <-time.After(2 * time.Second):
			}
			return 0, false, errdefs.ErrUnavailable.WithMessage("the container's monitor ended this attachment (output too slow to read?); the container goes on: attach again")
		case st := <-statusC:
			if st.Error() != nil {
				// containerd went away: that is no exit of the task.
				return 0, false, fmt.Errorf("lost containerd while waiting for the container: %w", st.Error())
			}
			if owner {
				cs.Exited(ctx, ctr, task, st)
				s.drain(2 * time.Second)
			} else {
				s.drain(200 * time.Millisecond)
			}
			c, _, err := st.Result()
			return int(c), false, err
		}
	}
}

// oneStatus is a channel that delivers st.
func oneStatus(st containerd.ExitStatus) <-chan containerd.ExitStatus {
	c := make(chan containerd.ExitStatus, 1)
	c <- st
	return c
}

// parseDetachKeys is containers.ParseDetachKeys, its error a usage one.
func parseDetachKeys(s string) ([]byte, error) {
	keys, err := containers.ParseDetachKeys(s)
	if err != nil {
		return nil, cli.Usagef("%s", err)
	}
	return keys, nil
}

// sigProxyValue reads --sig-proxy's value (true unless false is given).
func sigProxyValue(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "1", "t":
		return true, nil
	case "false", "0", "f":
		return false, nil
	}
	return false, cli.Usagef("bad --sig-proxy %q: want true or false", v)
}
