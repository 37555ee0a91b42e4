//go:build !windows

package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type execCmd struct {
	cli.Command
	Detach      bool     `short:"d" long:"detach" description:"Start the command and return at once"`
	Interactive bool     `short:"i" long:"interactive" description:"Pass standard input to the command"`
	TTY         bool     `short:"t" long:"tty" description:"Allocate a terminal"`
	Env         []string `short:"e" long:"env" value-name:"<KEY=VALUE>" description:"Set an environment variable"`
	EnvFile     []string `long:"env-file" value-name:"<FILE>" description:"Read environment variables from a file, one KEY=VALUE a line"`
	Privileged  bool     `long:"privileged" description:"Give the command every capability"`
	Workdir     string   `short:"w" long:"workdir" value-name:"<DIR>" description:"Working directory inside the container"`
	User        string   `short:"u" long:"user" value-name:"<USER[:GROUP]>" description:"User (name or UID) to run as"`
	DetachKeys  string   `long:"detach-keys" value-name:"<KEYS>" description:"Keys that end the session under -it (default ctrl-p,ctrl-q); the command loses its terminal"`
}

func (e *execCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) >= 2 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...) // docker's separator before the command
	}
	if len(rest) < 2 {
		return cli.Usagef("exec needs a container and a command: lepton exec [OPTIONS] CONTAINER COMMAND [ARG...]")
	}
	keys, err := parseDetachKeys(e.DetachKeys)
	if err != nil {
		return err
	}
	if !(e.Interactive && e.TTY) {
		keys = nil // without a terminal the input is data, passed as it is
	}
	if e.Interactive && e.TTY && !e.Detach && !cli.IsTerminal(a.env.Stdin) {
		return errdefs.ErrInvalidArgument.WithMessage("the input device is not a TTY: drop -t, or run lepton in a terminal")
	}
	// As with run: the files first, then -e, so -e wins.
	var environ []string
	for _, file := range e.EnvFile {
		kvs, err := readKVFile(file, "--env-file")
		if err != nil {
			return err
		}
		environ = append(environ, expandEnv(a.env, kvs)...)
	}
	environ = append(environ, expandEnv(a.env, e.Env)...)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return cli.Usagef("bad environment variable %q: the name is empty", kv)
		}
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, rest[0])
	if err != nil {
		return err
	}
	ctr, err := c.LoadContainer(ctx, info.ID)
	if err != nil {
		return err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", rest[0]))
	}
	if err != nil {
		return err
	}
	// The spec came with the container's record: no second round trip.
	var spec oci.Spec
	if info.Spec == nil || json.Unmarshal(info.Spec.GetValue(), &spec) != nil || spec.Process == nil {
		return fmt.Errorf("container %s has no usable spec", rest[0])
	}
	proc := *spec.Process
	proc.Args = rest[1:]
	proc.Terminal = e.TTY
	if len(environ) > 0 {
		proc.Env = replaceEnv(proc.Env, environ)
	}
	if e.Workdir != "" {
		proc.Cwd = e.Workdir
	}
	s := spec
	s.Process = &proc
	if e.User != "" {
		if err := oci.WithUser(e.User)(ctx, c, &info, &s); err != nil {
			return fmt.Errorf("user %s: %w", e.User, err)
		}
	}
	if e.Privileged {
		// Every capability lepton itself holds, as run --privileged
		// gives them.
		if err := oci.WithAllCurrentCapabilities(ctx, c, &info, &s); err != nil {
			return fmt.Errorf("--privileged: %w", err)
		}
	}
	creator := cio.NullIO
	var at *attachment
	if !e.Detach {
		if at, err = a.attach(ctx, e.Interactive, e.TTY, "", keys); err != nil {
			return err
		}
		defer at.close()
		creator = at.creator
	}
	execID := "exec-" + randomHex(8)
	p, err := task.Exec(ctx, execID, &proc, creator)
	if err != nil {
		if st, serr := task.Status(ctx); serr == nil && st.Status != containerd.Running {
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is %s, not running", rest[0], st.Status))
		}
		return err
	}
	ctx = context.WithoutCancel(ctx)
	defer p.Delete(ctx)
	statusC, err := p.Wait(ctx)
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return commandFailure(containers.StartError(err))
	}
	if e.Detach {
		return nil
	}
	at.started(ctx, p)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case s := <-sigs:
			p.Kill(ctx, s.(syscall.Signal))
		case <-at.detached:
			// lepton holds an exec's terminal itself: leaving ends it, and
			// the command gets the hangup of a closed terminal.
			return nil
		case st := <-statusC:
			p.IO().Wait()
			code, _, err := st.Result()
			if err != nil {
				return err
			}
			if code != 0 {
				return &cli.ExitError{Code: int(code)}
			}
			return nil
		}
	}
}

// replaceEnv sets each KEY=VALUE of add in env, replacing an existing KEY.
func replaceEnv(env, add []string) []string {
	out := append([]string{}, env...)
	for _, kv := range add {
		k := kv
		if i := indexByte(kv, '='); i >= 0 {
			k = kv[:i]
		}
		replaced := false
		for i, old := range out {
			if j := indexByte(old, '='); j >= 0 && old[:j] == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// eofHook calls fn once when r reaches its end.
type eofHook struct {
	r    io.Reader
	fn   func()
	done bool
}

func (h *eofHook) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if err == io.EOF && !h.done {
		h.done = true
		h.fn()
	}
	return n, err
}
