package events

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	ctrdevents "github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/typeurl/v2"
)

// Describer says who a container is in its events: its Actor (ID and
// attributes: name, image, labels), and false to leave its events out (a
// build step's, which nobody started). lepton's is
// containers.EventActor; nil takes containerd's record as it is (the ID
// as the name, the labels as attributes).
type Describer func(info containers.Container) (Actor, bool)

// DescribeByLabels is the Describer of containers no tool of docker's
// kind made: name is the ID, and the attributes are containerd's labels
// and image.
func DescribeByLabels(info containers.Container) (Actor, bool) {
	attrs := maps.Clone(info.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"], attrs["image"] = info.ID, info.Image
	return Actor{ID: info.ID, Attributes: attrs}, true
}

// Stream calls fn with each event of namespace as it happens, from the
// moment of the call on (containerd keeps no history), until ctx ends,
// when it returns nil, or fn or the subscription fails (containerd went
// away), when it returns that error. Events of containers describe
// leaves out are not shown, nor are those of other namespaces.
//
// Names outlive their containers in the stream: it keeps the actor of
// each container of the namespace (listed when it starts, then learnt
// from the events), so the destroy of a container already gone still
// carries its name and image.
func Stream(ctx context.Context, c *containerd.Client, namespace string, describe Describer, fn func(Event) error) error {
	if describe == nil {
		describe = DescribeByLabels
	}
	ctx = namespaces.WithNamespace(ctx, namespace)
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe before listing: a container made in between is both
	// listed and announced, never neither.
	ch, errs := c.EventService().Subscribe(sub, subscription(namespace)...)
	t := newTranslator(describe, func(ctx context.Context, id string) (containers.Container, error) {
		return c.ContainerService().Get(ctx, id)
	})
	all, err := c.ContainerService().List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("list the containers of namespace %s: %w", namespace, err)
	}
	for _, info := range all {
		t.learn(info)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			// gRPC may end the stream at ctx's deadline a moment before
			// ctx's own timer has marked it done.
			if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
				return nil
			}
			return fmt.Errorf("containerd's event stream ended: %w", err)
		case env := <-ch:
			e, ok := t.translate(ctx, env)
			if !ok {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// subscription is the filter that asks containerd for namespace's
// events of the kinds translated, and no others (a pull's content and
// snapshot events would be most of the traffic).
func subscription(namespace string) []string {
	return []string{fmt.Sprintf(`namespace==%q,topic~="^/(containers|tasks|images|lepton)/"`, namespace)}
}

// translator turns envelopes into Events, keeping what it knows of each
// container: what a destroy needs after the container is gone.
type translator struct {
	describe Describer
	get      func(ctx context.Context, id string) (containers.Container, error)
	known    map[string]known // container ID →
}

type known struct {
	actor Actor
	skip  bool // describe left it out
}

func newTranslator(describe Describer, get func(ctx context.Context, id string) (containers.Container, error)) *translator {
	return &translator{describe: describe, get: get, known: map[string]known{}}
}

func (t *translator) learn(info containers.Container) known {
	a, ok := t.describe(info)
	k := known{actor: a, skip: !ok}
	t.known[info.ID] = k
	return k
}

// container is what is known of container id, asking containerd when
// nothing is (or refresh is set). A container gone before it could be
// asked about is its ID alone.
func (t *translator) container(ctx context.Context, id string, refresh bool) known {
	if k, ok := t.known[id]; ok && !refresh {
		return k
	}
	info, err := t.get(ctx, id)
	if err != nil {
		if k, ok := t.known[id]; ok {
			return k
		}
		return known{actor: Actor{ID: id, Attributes: map[string]string{}}}
	}
	return t.learn(info)
}

// translate is env as an Event, false if it is none: another namespace's,
// a topic without docker counterpart, a container left out.
func (t *translator) translate(ctx context.Context, env *ctrdevents.Envelope) (Event, bool) {
	if env == nil || env.Event == nil {
		return Event{}, false
	}
	if strings.HasPrefix(env.Topic, "/lepton/") {
		e, ok := decode(env.Event.GetTypeUrl(), env.Event.GetValue())
		if !ok {
			return Event{}, false
		}
		if e.Type == Container {
			if k, ok := t.known[e.Actor.ID]; ok && k.skip {
				return Event{}, false
			}
			if e.Action == "rename" {
				// The new name, for the events to come.
				t.known[e.Actor.ID] = known{actor: Actor{ID: e.Actor.ID, Attributes: withoutKeys(e.Actor.Attributes, "oldName")}}
			}
		}
		e.stamp(env.Timestamp)
		return e, true
	}
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		return Event{}, false
	}
	e := Event{Type: Container}
	var id string
	var extra map[string]string
	switch ev := v.(type) {
	case *apievents.ContainerCreate:
		info, err := t.get(ctx, ev.ID)
		switch {
		case err == nil:
			t.learn(info)
		case ev.Image == "":
			// Gone already, and imageless: a build step's, which are quick.
			t.known[ev.ID] = known{skip: true}
		default:
			t.known[ev.ID] = known{actor: Actor{ID: ev.ID, Attributes: map[string]string{"image": ev.Image}}}
		}
		id, e.Action = ev.ID, "create"
	case *apievents.ContainerUpdate:
		t.container(ctx, ev.ID, true) // labels changed: a new name?
		return Event{}, false
	case *apievents.ContainerDelete:
		k := t.container(ctx, ev.ID, false)
		delete(t.known, ev.ID)
		if k.skip {
			return Event{}, false
		}
		return t.event(env, "destroy", k.actor, nil), true
	case *apievents.TaskStart:
		id, e.Action = ev.ContainerID, "start"
	case *apievents.TaskExit:
		id, e.Action = ev.ContainerID, "die"
		extra = map[string]string{"exitCode": strconv.Itoa(int(ev.ExitStatus))}
		if ev.ID != "" && ev.ID != ev.ContainerID {
			e.Action, extra["execID"] = "exec_die", ev.ID
		}
	case *apievents.TaskOOM:
		id, e.Action = ev.ContainerID, "oom"
	case *apievents.TaskPaused:
		id, e.Action = ev.ContainerID, "pause"
	case *apievents.TaskResumed:
		id, e.Action = ev.ContainerID, "unpause"
	case *apievents.TaskExecAdded:
		id, e.Action, extra = ev.ContainerID, "exec_create", map[string]string{"execID": ev.ExecID}
	case *apievents.TaskExecStarted:
		id, e.Action, extra = ev.ContainerID, "exec_start", map[string]string{"execID": ev.ExecID}
	case *apievents.ImageCreate:
		return t.image(env, "tag", ev.Name), true
	case *apievents.ImageUpdate:
		return t.image(env, "tag", ev.Name), true
	case *apievents.ImageDelete:
		return t.image(env, "delete", ev.Name), true
	default:
		return Event{}, false
	}
	k := t.container(ctx, id, false)
	if k.skip {
		return Event{}, false
	}
	return t.event(env, e.Action, k.actor, extra), true
}

// event is a container event of actor, with its attributes and extra's.
func (t *translator) event(env *ctrdevents.Envelope, action string, actor Actor, extra map[string]string) Event {
	attrs := maps.Clone(actor.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	maps.Copy(attrs, extra)
	e := Event{Type: Container, Action: action, Actor: Actor{ID: actor.ID, Attributes: attrs}}
	e.stamp(env.Timestamp)
	return e
}

// image is an image event: containerd's images are names, which are
// their IDs here.
func (t *translator) image(env *ctrdevents.Envelope, action, name string) Event {
	e := Event{Type: Image, Action: action, Actor: Actor{ID: name, Attributes: map[string]string{"name": name}}}
	e.stamp(env.Timestamp)
	return e
}

func withoutKeys(m map[string]string, keys ...string) map[string]string {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
