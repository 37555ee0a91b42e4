//go:build !windows

package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	bkclient "github.com/moby/buildkit/client"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	bkerrdefs "github.com/moby/buildkit/solver/errdefs"
	digest "github.com/opencontainers/go-digest"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/registry"
)

// exportsOf turns the outputs into buildkit's exporters. With no -o the
// result is an image in the store named by the tags (or DanglingPrefix@
// digest without one), unpacked so lepton run starts it at once. Tags
// with other outputs still name an image as well.
//
// An image output that asks to push is stored instead, and its names are
// returned in push: lepton pushes them itself once the build is done,
// through hosts.toml as lepton push does, which buildkitd does not read.
func exportsOf(o Options, names []string) (out []bkclient.ExportEntry, push []string, err error) {
	hasImage := false
	for _, e := range o.Outputs {
		attrs := map[string]string{}
		for k, v := range e.Attrs {
			attrs[k] = v
		}
		x := bkclient.ExportEntry{Type: e.Type, Attrs: attrs}
		dest := attrs["dest"]
		switch e.Type {
		case "image", "registry":
			hasImage = true
			x.Type = "image"
			if attrs["name"] == "" {
				if len(names) == 0 {
					return nil, nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-o type=%s needs a name: give -t or name=", e.Type))
				}
				attrs["name"] = strings.Join(names, ",")
			}
			if e.Type == "registry" || attrs["push"] == "true" {
				for _, n := range strings.Split(attrs["name"], ",") {
					full, err := registry.Normalize(n)
					if err != nil {
						return nil, nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-o %s: name %s: %v", e.Type, n, err))
					}
					push = appendNew(push, full)
				}
				delete(attrs, "push")
			}
			if _, ok := attrs["unpack"]; !ok {
				attrs["unpack"] = "true"
			}
		case "local":
			delete(attrs, "dest")
			x.OutputDir = dest
		case "tar", "oci", "docker":
			delete(attrs, "dest")
			if e.Type != "tar" && attrs["name"] == "" && len(names) > 0 {
				attrs["name"] = strings.Join(names, ",")
			}
			x.Output = fileOutput(dest, o.Stdout)
		}
		out = append(out, x)
	}
	if !hasImage && (len(o.Outputs) == 0 || len(names) > 0) {
		attrs := map[string]string{"unpack": "true"}
		if len(names) > 0 {
			attrs["name"] = strings.Join(names, ",")
		} else {
			attrs["dangling-name-prefix"] = DanglingPrefix
		}
		out = append(out, bkclient.ExportEntry{Type: "image", Attrs: attrs})
	}
	return out, push, nil
}

// fileOutput writes an archive to dest, or to stdout for "-".
func fileOutput(dest string, stdout io.Writer) func(map[string]string) (io.WriteCloser, error) {
	return func(map[string]string) (io.WriteCloser, error) {
		if dest == "-" {
			if stdout == nil {
				return nil, errors.New("dest=-: this build has no stdout to write to (Options.Stdout)")
			}
			return nopCloser{stdout}, nil
		}
		return os.Create(dest)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func cacheEntries(es []Entry) []bkclient.CacheOptionsEntry {
	var out []bkclient.CacheOptionsEntry
	for _, e := range es {
		out = append(out, bkclient.CacheOptionsEntry{Type: e.Type, Attrs: e.Attrs})
	}
	return out
}

// stepLogs keeps each step's name and last lines of output, so a failed
// RUN can be told with what it said even when no progress was shown.
type stepLogs struct {
	mu    sync.Mutex
	names map[digest.Digest]string
	lines map[digest.Digest][]string
}

const keptLines = 10

func newStepLogs() *stepLogs {
	return &stepLogs{names: map[digest.Digest]string{}, lines: map[digest.Digest][]string{}}
}

func (l *stepLogs) add(s *bkclient.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range s.Vertexes {
		l.names[v.Digest] = v.Name
	}
	for _, lg := range s.Logs {
		text := strings.TrimRight(string(lg.Data), "\n")
		if text == "" {
			continue
		}
		ls := append(l.lines[lg.Vertex], strings.Split(text, "\n")...)
		if len(ls) > keptLines {
			ls = ls[len(ls)-keptLines:]
		}
		l.lines[lg.Vertex] = ls
	}
}

// explain rewrites buildkit's error for a person: which step failed, with
// what exit code, at which line of the Dockerfile, and the step's last
// lines of output (a script or CI log may not have shown the progress).
func (l *stepLogs) explain(err error, dockerfile string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := strings.TrimPrefix(grpcMessage(err), "failed to solve: ")
	var step string
	var lines []string
	var ve *bkerrdefs.VertexError
	if errors.As(err, &ve) {
		d := digest.Digest(ve.Digest)
		step, lines = l.names[d], l.lines[d]
	}
	where := ""
	for _, src := range bkerrdefs.Sources(err) {
		if src.Info != nil && len(src.Ranges) > 0 {
			where = fmt.Sprintf("%s:%d", dockerfile, src.Ranges[0].Start.Line)
			break
		}
	}
	var b strings.Builder
	b.WriteString("build failed")
	if where != "" {
		b.WriteString(" at " + where)
	}
	if step != "" {
		b.WriteString(", step " + step)
	}
	var ee *gatewaypb.ExitError
	if errors.As(err, &ee) {
		fmt.Fprintf(&b, ": exit code %d", ee.ExitCode)
	} else {
		b.WriteString(": " + msg)
	}
	if len(lines) > 0 {
		b.WriteString("; its last output:")
		for _, ln := range lines {
			b.WriteString("\n  " + ln)
		}
	}
	return errors.New(b.String())
}

// grpcMessage is an error's text without gRPC's "rpc error: code = ... desc =".
func grpcMessage(err error) string {
	s := err.Error()
	if i := strings.Index(s, "desc = "); i >= 0 && strings.HasPrefix(s, "rpc error:") {
		s = s[i+len("desc = "):]
	}
	return s
}
