//go:build !windows

package system

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/events"
)

type eventsCmd struct {
	cli.Command
	Filters []string `short:"f" long:"filter" value-name:"<KEY=VALUE>" description:"Show only matching events: type=, container=, image=, event=, label=, network= or volume= (repeatable)"`
	Since   string   `long:"since" value-name:"<TIME>" description:"Show events from this time (RFC 3339, Unix seconds, or a duration back from now); containerd keeps no history, so a past time means now"`
	Until   string   `long:"until" value-name:"<TIME>" description:"Stop streaming at this time (same forms)"`
	Format  string   `long:"format" value-name:"<FORMAT>" description:"\"json\" (one object per line) or a Go template such as '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'"`
}

// run streams the namespace's events until --until, Ctrl-C or SIGTERM
// (all exit 0), one line each, written as it comes: scripts wait on them.
func (c *eventsCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	// The keys events.Event.Match knows.
	filters, err := cli.ParseFilters(c.Filters, "type", "container", "image", "event", "label", "network", "volume")
	if err != nil {
		return err
	}
	for _, t := range filters["type"] {
		switch t {
		case events.Container, events.Image, events.Network, events.Volume:
		default:
			return cli.Usagef("bad filter type=%s: want container, image, network or volume", t)
		}
	}
	write, err := eventWriter(env.Stdout, c.Format)
	if err != nil {
		return err
	}
	now := time.Now()
	since, err := cli.ParseTime(c.Since, now)
	if err != nil {
		return err
	}
	until, err := cli.ParseTime(c.Until, now)
	if err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return cli.Usagef("--until %s is before --since %s", c.Until, c.Since)
	}
	client, err := g.Client(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	// A second's grace: --since 0s, or a time just printed by date, is now.
	if !since.IsZero() && since.Before(now.Add(-time.Second)) {
		fmt.Fprintf(env.Stderr, "%s: containerd keeps no event history: showing events from now on, not from %s\n", env.Name, since.Format(time.RFC3339))
	}
	if !until.IsZero() {
		if !until.After(now) {
			return nil // all of it is history
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	// The stream ends with nil when ctx does: at --until, or at the
	// signal dispatch turns into a cancelled context.
	return events.Stream(ctx, client, g.Namespace, containers.EventActor, func(e events.Event) error {
		if !since.IsZero() && e.TimeNano < since.UnixNano() || !until.IsZero() && e.TimeNano > until.UnixNano() || !e.Match(filters) {
			return nil
		}
		return write(e)
	})
}

// eventWriter prints one event per line as format asks: docker's line
// (""), a JSON object ("json"), or a Go template. Each line is one write,
// so a reader never sees half of one.
func eventWriter(w io.Writer, format string) (func(events.Event) error, error) {
	switch {
	case format == "":
		return func(e events.Event) error {
			_, err := io.WriteString(w, e.String()+"\n")
			return err
		}, nil
	case format == "json" || format == "{{json .}}":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		return func(e events.Event) error {
			buf.Reset()
			if err := enc.Encode(e); err != nil {
				return err
			}
			_, err := w.Write(buf.Bytes())
			return err
		}, nil
	case format == "table" || strings.HasPrefix(format, "table "):
		return nil, cli.Usagef("--format table: events are a stream, not a table: use json or a template")
	}
	t, err := cli.Template(format)
	if err != nil {
		return nil, err
	}
	// An attribute an event lacks ({{.Actor.Attributes.exitCode}} of a
	// start) is empty, not an error: one stream mixes kinds of events.
	t.Option("missingkey=zero")
	return templateWriter(w, t), nil
}

func templateWriter(w io.Writer, t *template.Template) func(events.Event) error {
	var buf bytes.Buffer
	return func(e events.Event) error {
		buf.Reset()
		if err := t.Execute(&buf, e); err != nil {
			return cli.Usagef("--format: %v", err)
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
}
