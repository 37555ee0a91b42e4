package events

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/containers"
	ctrdevents "github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/proto"
)

var when = time.Date(2026, 12, 2, 18, 0, 0, 123456789, time.UTC)

func envelope(t *testing.T, topic string, v any) *ctrdevents.Envelope {
	t.Helper()
	a, err := typeurl.MarshalAny(v)
	if err != nil {
		t.Fatal(err)
	}
	return &ctrdevents.Envelope{Timestamp: when, Namespace: "ns", Topic: topic, Event: a}
}

// published is what Publish would send for e, as containerd delivers it.
func published(t *testing.T, e Event) *ctrdevents.Envelope {
	t.Helper()
	s, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return envelope(t, Topic(e.Type, e.Action), s)
}

// fakeStore answers the translator's lookups from a map, as containerd
// would: a container not there is not found.
type fakeStore map[string]containers.Container

func (f fakeStore) get(_ context.Context, id string) (containers.Container, error) {
	if c, ok := f[id]; ok {
		return c, nil
	}
	return containers.Container{}, errdefs.ErrNotFound
}

// describe is a lepton-like Describer: a name label, the image, and
// imageless, labelless containers left out as build steps.
func describe(info containers.Container) (Actor, bool) {
	if info.Image == "" && len(info.Labels) == 0 {
		return Actor{}, false
	}
	return Actor{ID: info.ID, Attributes: map[string]string{"name": info.Labels["name"], "image": info.Image}}, true
}

func TestTranslate(t *testing.T) {
	store := fakeStore{
		"c1":    {ID: "c1", Image: "localhost/busybox:latest", Labels: map[string]string{"name": "web"}},
		"build": {ID: "build"},
	}
	tr := newTranslator(describe, store.get)
	web := map[string]string{"name": "web", "image": "localhost/busybox:latest"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range web {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	steps := []struct {
		name  string
		env   *ctrdevents.Envelope
		want  *Event // nil: no event
		after func() // changes the store after the step
	}{
		{"create", envelope(t, "/containers/create", &apievents.ContainerCreate{ID: "c1", Image: "localhost/busybox:latest"}),
			&Event{Type: Container, Action: "create", Actor: Actor{ID: "c1", Attributes: web}}, nil},
		{"start", envelope(t, "/tasks/start", &apievents.TaskStart{ContainerID: "c1", Pid: 42}),
			&Event{Type: Container, Action: "start", Actor: Actor{ID: "c1", Attributes: web}}, nil},
		{"exec exit", envelope(t, "/tasks/exit", &apievents.TaskExit{ContainerID: "c1", ID: "health-1", ExitStatus: 1}),
			&Event{Type: Container, Action: "exec_die", Actor: Actor{ID: "c1", Attributes: with(map[string]string{"exitCode": "1", "execID": "health-1"})}}, nil},
		{"pause", envelope(t, "/tasks/paused", &apievents.TaskPaused{ContainerID: "c1"}),
			&Event{Type: Container, Action: "pause", Actor: Actor{ID: "c1", Attributes: web}}, nil},
		{"unpause", envelope(t, "/tasks/resumed", &apievents.TaskResumed{ContainerID: "c1"}),
			&Event{Type: Container, Action: "unpause", Actor: Actor{ID: "c1", Attributes: web}}, nil},
		{"die", envelope(t, "/tasks/exit", &apievents.TaskExit{ContainerID: "c1", ID: "c1", ExitStatus: 137}),
			&Event{Type: Container, Action: "die", Actor: Actor{ID: "c1", Attributes: with(map[string]string{"exitCode": "137"})}}, nil},
		{"task delete is no event", envelope(t, "/tasks/delete", &apievents.TaskDelete{ContainerID: "c1"}), nil, nil},
		{"rename", published(t, Event{Type: Container, Action: "rename", Actor: Actor{ID: "c1", Attributes: map[string]string{"name": "api", "oldName": "web", "image": "localhost/busybox:latest"}}}),
			&Event{Type: Container, Action: "rename", Actor: Actor{ID: "c1", Attributes: map[string]string{"name": "api", "oldName": "web", "image": "localhost/busybox:latest"}}},
			func() { delete(store, "c1") }},
		// Gone from containerd: the destroy still has the name, the new one.
		{"destroy", envelope(t, "/containers/delete", &apievents.ContainerDelete{ID: "c1"}),
			&Event{Type: Container, Action: "destroy", Actor: Actor{ID: "c1", Attributes: map[string]string{"name": "api", "image": "localhost/busybox:latest"}}}, nil},
		{"build step create", envelope(t, "/containers/create", &apievents.ContainerCreate{ID: "build"}), nil, nil},
		{"build step start", envelope(t, "/tasks/start", &apievents.TaskStart{ContainerID: "build"}), nil, func() { delete(store, "build") }},
		{"build step destroy", envelope(t, "/containers/delete", &apievents.ContainerDelete{ID: "build"}), nil, nil},
		// A quick one gone before it could be looked at, imageless: a build step too.
		{"vanished build step", envelope(t, "/containers/create", &apievents.ContainerCreate{ID: "quick"}), nil, nil},
		{"vanished build step's exit", envelope(t, "/tasks/exit", &apievents.TaskExit{ContainerID: "quick", ID: "quick"}), nil, nil},
		{"vanished build step's destroy", envelope(t, "/containers/delete", &apievents.ContainerDelete{ID: "quick"}), nil, nil},
		{"tag", envelope(t, "/images/create", &apievents.ImageCreate{Name: "localhost/busybox:latest"}),
			&Event{Type: Image, Action: "tag", Actor: Actor{ID: "localhost/busybox:latest", Attributes: map[string]string{"name": "localhost/busybox:latest"}}}, nil},
		{"untag", envelope(t, "/images/delete", &apievents.ImageDelete{Name: "localhost/busybox:latest"}),
			&Event{Type: Image, Action: "delete", Actor: Actor{ID: "localhost/busybox:latest", Attributes: map[string]string{"name": "localhost/busybox:latest"}}}, nil},
		{"network create", published(t, Event{Type: Network, Action: "create", Actor: Actor{ID: "n1", Attributes: map[string]string{"name": "front", "type": "bridge"}}}),
			&Event{Type: Network, Action: "create", Actor: Actor{ID: "n1", Attributes: map[string]string{"name": "front", "type": "bridge"}}}, nil},
		{"health", published(t, Event{Type: Container, Action: "health_status: healthy", Actor: Actor{ID: "c9", Attributes: map[string]string{"name": "db"}}}),
			&Event{Type: Container, Action: "health_status: healthy", Actor: Actor{ID: "c9", Attributes: map[string]string{"name": "db"}}}, nil},
		{"snapshot events are none", envelope(t, "/snapshot/prepare", &apievents.SnapshotPrepare{Key: "k"}), nil, nil},
	}
	for _, s := range steps {
		got, ok := tr.translate(context.Background(), s.env)
		switch {
		case s.want == nil && ok:
			t.Errorf("%s: translate = %+v, want no event", s.name, got)
		case s.want != nil && !ok:
			t.Errorf("%s: translate = no event, want %+v", s.name, *s.want)
		case s.want != nil:
			want := *s.want
			want.stamp(when)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: translate = %+v, want %+v", s.name, got, want)
			}
		}
		if s.after != nil {
			s.after()
		}
	}
	if len(tr.known) != 0 {
		t.Errorf("after every destroy the cache holds %v, want nothing", tr.known)
	}
}

// TestDockerJSON checks the field names and legacy fields scripts read.
func TestDockerJSON(t *testing.T) {
	e := Event{Type: Container, Action: "start", Actor: Actor{ID: "c1", Attributes: map[string]string{"image": "busybox", "name": "web"}}}
	e.stamp(when)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"start","id":"c1","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1796234400,"timeNano":1796234400123456789}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	v := Event{Type: Volume, Action: "create", Actor: Actor{ID: "data", Attributes: map[string]string{"driver": "local"}}}
	v.stamp(when)
	if b, _ := json.Marshal(v); string(b) != `{"Type":"volume","Action":"create","Actor":{"ID":"data","Attributes":{"driver":"local"}},"scope":"local","time":1796234400,"timeNano":1796234400123456789}` {
		t.Errorf("volume json = %s: want no status, id or from", b)
	}
	if got, want := e.String()[30:], " container start c1 (image=busybox, name=web)"; got != want {
		t.Errorf("String()[30:] = %q, want %q", got, want)
	}
}

func TestMatch(t *testing.T) {
	ctr := Event{Type: Container, Action: "die", Actor: Actor{ID: "3f2a9c", Attributes: map[string]string{"name": "web", "image": "docker.io/library/busybox:1.36", "tier": "front", "exitCode": "0"}}}
	health := Event{Type: Container, Action: "health_status: unhealthy", Actor: Actor{ID: "77", Attributes: map[string]string{"name": "db"}}}
	net := Event{Type: Network, Action: "connect", Actor: Actor{ID: "9e1b", Attributes: map[string]string{"name": "front", "container": "3f2a9c", "type": "bridge"}}}
	vol := Event{Type: Volume, Action: "destroy", Actor: Actor{ID: "data", Attributes: map[string]string{"driver": "local"}}}
	img := Event{Type: Image, Action: "tag", Actor: Actor{ID: "localhost/app:v2", Attributes: map[string]string{"name": "localhost/app:v2"}}}
	for _, c := range []struct {
		e       Event
		filters map[string][]string
		want    bool
	}{
		{ctr, nil, true},
		{ctr, map[string][]string{"type": {"container"}}, true},
		{ctr, map[string][]string{"type": {"network", "container"}}, true}, // one key: either
		{ctr, map[string][]string{"type": {"network"}}, false},
		{ctr, map[string][]string{"type": {"container"}, "event": {"start"}}, false}, // two keys: both
		{ctr, map[string][]string{"event": {"start", "die"}}, true},
		{ctr, map[string][]string{"container": {"web"}}, true},
		{ctr, map[string][]string{"container": {"3f2a"}}, true},
		{ctr, map[string][]string{"container": {"we"}}, false}, // a name is whole, an ID may be short
		{ctr, map[string][]string{"container": {""}}, false},
		{net, map[string][]string{"container": {"web"}}, false}, // container= selects container events
		{ctr, map[string][]string{"image": {"busybox"}}, true},
		{ctr, map[string][]string{"image": {"busybox:1.36"}}, true},
		{ctr, map[string][]string{"image": {"busybox:latest"}}, false},
		{ctr, map[string][]string{"image": {"docker.io/library/busybox:1.36"}}, true},
		{img, map[string][]string{"image": {"localhost/app"}}, true},
		{vol, map[string][]string{"image": {"data"}}, false},
		{ctr, map[string][]string{"label": {"tier"}}, true},
		{ctr, map[string][]string{"label": {"tier=front"}}, true},
		{ctr, map[string][]string{"label": {"tier=front", "zone"}}, false}, // labels: all of them
		{ctr, map[string][]string{"label": {"tier=back"}}, false},
		{health, map[string][]string{"event": {"health_status"}}, true},
		{health, map[string][]string{"event": {"health_status: unhealthy"}}, true},
		{health, map[string][]string{"event": {"health"}}, false},
		{net, map[string][]string{"network": {"front"}}, true},
		{net, map[string][]string{"network": {"9e"}}, true},
		{ctr, map[string][]string{"network": {"front"}}, false},
		{vol, map[string][]string{"volume": {"data"}}, true},
		{vol, map[string][]string{"volume": {"dat"}}, false},
		{vol, map[string][]string{"volume": {"data"}, "event": {"create"}}, false},
	} {
		if got := c.e.Match(c.filters); got != c.want {
			t.Errorf("%s %s %s: Match(%v) = %v, want %v", c.e.Type, c.e.Action, c.e.Actor.ID, c.filters, got, c.want)
		}
	}
}

func TestTopic(t *testing.T) {
	for _, c := range [][3]string{
		{Network, "create", "/lepton/network/create"},
		{Container, "health_status: healthy", "/lepton/container/health_status"},
	} {
		if got := Topic(c[0], c[1]); got != c[2] {
			t.Errorf("Topic(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// TestPayload checks that what Publish sends comes back whole, and that
// any other Struct or type is not taken for a lepton event.
func TestPayload(t *testing.T) {
	e := Event{Type: Volume, Action: "create", Actor: Actor{ID: "data", Attributes: map[string]string{"driver": "local"}}}
	s, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"google.protobuf.Struct", "type.googleapis.com/google.protobuf.Struct"} {
		got, ok := decode(url, b)
		if !ok || !reflect.DeepEqual(got, e) {
			t.Errorf("decode(%s) = %+v, %v, want %+v", url, got, ok, e)
		}
	}
	if _, ok := decode("containerd.events.TaskStart", b); ok {
		t.Error("decode took another type for a lepton event")
	}
	empty, _ := proto.Marshal(&apievents.TaskStart{})
	if _, ok := decode("google.protobuf.Struct", empty); ok {
		t.Error("decode took a Struct without Type and Action for a lepton event")
	}
}

type recorder struct {
	topic string
	event ctrdevents.Event
}

func (r *recorder) Publish(_ context.Context, topic string, e ctrdevents.Event) error {
	r.topic, r.event = topic, e
	return nil
}

func TestPublish(t *testing.T) {
	if err := Publish(context.Background(), nil, "ns", Event{Type: Volume, Action: "create"}); err != nil {
		t.Errorf("Publish to no publisher = %v, want nil", err)
	}
	var r recorder
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the work is done; the event still goes
	e := Event{Type: Network, Action: "destroy", Actor: Actor{ID: "n1", Attributes: map[string]string{"name": "front"}}}
	if err := Publish(ctx, &r, "ns", e); err != nil {
		t.Fatal(err)
	}
	if r.topic != "/lepton/network/destroy" {
		t.Errorf("topic = %q, want /lepton/network/destroy", r.topic)
	}
	a, err := typeurl.MarshalAny(r.event)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := decode(a.GetTypeUrl(), a.GetValue()); !ok || !reflect.DeepEqual(got, e) {
		t.Errorf("published %+v (%s), want %+v", got, a.GetTypeUrl(), e)
	}
}
