//go:build !windows

// Command watch prints what happens to the containers of a namespace as
// JSON lines, one object per event, with lepton's container names:
//
//	{"time":"...","event":"start","id":"4f1c...","name":"web"}
//	{"time":"...","event":"exit","id":"4f1c...","name":"web","exitCode":3}
//
// The events are create, start, exit and delete, as containerd publishes
// them, whichever tool caused them. It is built on lepton's common packages
// and containerd's client alone, and reads lepton's environment
// (CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, LEPTON_HOME).
//
//	watch [-n COUNT] [-t DURATION] [-ready FILE]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// event is one line of output.
type event struct {
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	ExitCode *uint32   `json:"exitCode,omitempty"`
}

func main() {
	count := flag.Int("n", 0, "Stop after this many events (0: never)")
	ready := flag.String("ready", "", "Create this file once watching, so a script knows when to start")
	limit := flag.Duration("t", 0, "Stop after this long (0: never)")
	flag.Parse()
	ctx := context.Background()
	if *limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}
	if err := watch(ctx, *count, *ready); err != nil {
		fmt.Fprintln(os.Stderr, "watch:", err)
		os.Exit(1)
	}
}

func watch(ctx context.Context, count int, ready string) error {
	var g cli.Globals
	g.Resolve(&cli.Env{Getenv: os.Getenv})
	cs, err := g.Containers(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ns := fmt.Sprintf("namespace==%q,", g.Namespace)
	evs, errs := c.Subscribe(ctx, ns+`topic=="/containers/create"`, ns+`topic=="/containers/delete"`,
		ns+`topic=="/tasks/start"`, ns+`topic=="/tasks/exit"`)
	if ready != "" {
		// containerd takes the subscription when the stream opens: a
		// round trip on the same connection makes sure it has.
		if _, err := c.Version(ctx); err != nil {
			return err
		}
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return err
		}
	}
	names := map[string]string{} // a deleted container can no longer be resolved
	out := json.NewEncoder(os.Stdout)
	for n := 0; count == 0 || n < count; {
		select {
		case <-ctx.Done():
			return nil // -t passed
		case err := <-errs:
			return err
		case env := <-evs:
			v, err := typeurl.UnmarshalAny(env.Event)
			if err != nil {
				continue
			}
			e := event{Time: env.Timestamp}
			switch v := v.(type) {
			case *apievents.ContainerCreate:
				e.Event, e.ID = "create", v.ID
			case *apievents.ContainerDelete:
				e.Event, e.ID = "delete", v.ID
			case *apievents.TaskStart:
				e.Event, e.ID = "start", v.ContainerID
			case *apievents.TaskExit:
				if v.ID != v.ContainerID {
					continue // an exec's process, not the container's
				}
				e.Event, e.ID, e.ExitCode = "exit", v.ContainerID, &v.ExitStatus
			default:
				continue
			}
			if names[e.ID] == "" {
				if info, err := cs.Resolve(ctx, e.ID); err == nil {
					names[e.ID] = containers.NameOf(info)
				}
			}
			e.Name = names[e.ID]
			if e.Event == "delete" {
				delete(names, e.ID)
			}
			if err := out.Encode(e); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}
