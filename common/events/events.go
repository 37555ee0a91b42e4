package events

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	ctrdevents "github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/distribution/reference"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lepton-project/lepton/common/ctrd"
)

// The kinds of object an Event is about: docker's Type.
const (
	Container = "container"
	Image     = "image"
	Network   = "network"
	Volume    = "volume"
)

// Scope is every event's scope: lepton has no swarm, so all is "local".
const Scope = "local"

// Event is one thing that happened, with docker's JSON field names, so
// that `--format json` lines read as docker's do. Status, ID and From are
// docker's older fields, which it still fills for container (and image)
// events and scripts still read.
type Event struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string
	Action   string // "create", "die", "health_status: healthy", ...
	Actor    Actor
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`     // Unix seconds
	TimeNano int64  `json:"timeNano"` // Unix nanoseconds
}

// Actor is what an Event is about: a container, image, network or volume
// ID (a volume's and an image's is its name), and docker's attributes:
// "name", for containers "image", the labels and what the action adds
// ("exitCode" for die, "signal" for kill, "oldName" for rename), for
// network connect and disconnect the "container".
type Actor struct {
	ID         string
	Attributes map[string]string
}

// stamp sets the event's time and scope, and docker's legacy fields.
func (e *Event) stamp(t time.Time) {
	e.Time, e.TimeNano, e.Scope = t.Unix(), t.UnixNano(), Scope
	e.Status, e.ID, e.From = "", "", ""
	switch e.Type {
	case Container:
		e.Status, e.ID, e.From = e.Action, e.Actor.ID, e.Actor.Attributes["image"]
	case Image:
		e.Status, e.ID = e.Action, e.Actor.ID
	}
}

// String is docker's line for the event: its time (local, to the
// nanosecond), type, action and actor ID, then the attributes sorted by
// name:
//
//	2026-12-02T18:00:00.123456789Z container start 3f2a... (image=busybox, name=web)
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(time.Unix(0, e.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00"))
	fmt.Fprintf(&b, " %s %s %s", e.Type, e.Action, e.Actor.ID)
	if len(e.Actor.Attributes) > 0 {
		b.WriteString(" (")
		for i, k := range slices.Sorted(maps.Keys(e.Actor.Attributes)) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + e.Actor.Attributes[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// Match says whether e passes filters, the KEY=VALUE pairs of docker's
// `events --filter`: the values of one key are alternatives, different
// keys must all hold, and every label filter must hold. The keys:
//
//	type       container, image, network or volume
//	event      the action; "health_status" takes every health_status: ...
//	container  a container's name, or its ID or a prefix of it
//	image      an image, with or without its tag (busybox, busybox:1.36);
//	           a container's image as given at its creation
//	network    a network's name, or its ID or a prefix of it
//	volume     a volume's name
//	label      KEY or KEY=VALUE among the attributes (a container's labels)
//
// As in docker, container, network and volume select events of that
// type only: container=web hides web's network connect events.
func (e Event) Match(filters map[string][]string) bool {
	name := e.Actor.Attributes["name"]
	anyOf := func(key string, ok func(v string) bool) bool {
		vs := filters[key]
		return len(vs) == 0 || slices.ContainsFunc(vs, ok)
	}
	idOrName := func(typ string) func(string) bool {
		return func(v string) bool {
			return v != "" && e.Type == typ && (name == v || strings.HasPrefix(e.Actor.ID, v))
		}
	}
	for _, l := range filters["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		if got, ok := e.Actor.Attributes[k]; !ok || hasValue && got != v {
			return false
		}
	}
	return anyOf("type", func(v string) bool { return e.Type == v }) &&
		anyOf("event", func(v string) bool {
			before, _, _ := strings.Cut(e.Action, ":")
			return e.Action == v || before == v
		}) &&
		anyOf("container", idOrName(Container)) &&
		anyOf("network", idOrName(Network)) &&
		anyOf("volume", func(v string) bool { return e.Type == Volume && (e.Actor.ID == v || name == v) }) &&
		anyOf("image", func(v string) bool {
			switch e.Type {
			case Container:
				return SameImage(v, e.Actor.Attributes["image"])
			case Image:
				return SameImage(v, e.Actor.ID) || SameImage(v, name)
			}
			return false
		})
}

// SameImage says whether an image filter selects image, both as a user
// may write them: "busybox" selects docker.io/library/busybox:latest and
// every other tag of it, "busybox:1.36" only that tag.
func SameImage(filter, image string) bool {
	if filter == "" || image == "" {
		return false
	}
	if filter == image {
		return true
	}
	f, err := reference.ParseNormalizedNamed(filter)
	if err != nil {
		return false
	}
	i, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return false
	}
	_, tagged := f.(reference.Tagged)
	_, digested := f.(reference.Digested)
	if !tagged && !digested {
		return f.Name() == i.Name()
	}
	return reference.TagNameOnly(f).String() == reference.TagNameOnly(i).String()
}

// Publisher is what Publish sends through: containerd's client's
// EventService(), or a Dialer.
type Publisher = ctrdevents.Publisher

// PublishTimeout bounds one Publish.
const PublishTimeout = 2 * time.Second

// Topic is the containerd topic a lepton event of typ and action travels
// under: /lepton/network/create. An action with a detail after a colon
// ("health_status: healthy") is named by what comes before it, since a
// topic's components are identifiers.
func Topic(typ, action string) string {
	a, _, _ := strings.Cut(action, ":")
	return "/lepton/" + typ + "/" + a
}

// Publish sends e's Type, Action and Actor through p into namespace (""
// for the one ctx or the client carries); containerd stamps the time.
// A nil p publishes nothing. The error is for callers that want it:
// lepton's own drop it, since an event that is lost must not fail the work
// it was about (see the package comment). Publish does not wait for
// longer than PublishTimeout, and still publishes when ctx has just been
// cancelled: the work is done, and the event says so.
func Publish(ctx context.Context, p Publisher, namespace string, e Event) error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PublishTimeout)
	defer cancel()
	if namespace != "" {
		ctx = namespaces.WithNamespace(ctx, namespace)
	}
	s, err := encode(e)
	if err != nil {
		return err
	}
	return p.Publish(ctx, Topic(e.Type, e.Action), s)
}

// encode is e as the Struct that travels: {"Type", "Action", "Actor":
// {"ID", "Attributes"}}, docker's names.
func encode(e Event) (*structpb.Struct, error) {
	attrs := make(map[string]any, len(e.Actor.Attributes))
	for k, v := range e.Actor.Attributes {
		attrs[k] = v
	}
	return structpb.NewStruct(map[string]any{
		"Type":   e.Type,
		"Action": e.Action,
		"Actor":  map[string]any{"ID": e.Actor.ID, "Attributes": attrs},
	})
}

// structURL is the type URL Publish's payload arrives with: typeurl names
// a protobuf message by its full name, other clients may add the prefix.
const structURL = "google.protobuf.Struct"

// decode reads a lepton event's payload; false if it is not one.
func decode(url string, value []byte) (Event, bool) {
	if url != structURL && !strings.HasSuffix(url, "/"+structURL) {
		return Event{}, false
	}
	var s structpb.Struct
	if proto.Unmarshal(value, &s) != nil {
		return Event{}, false
	}
	m := s.AsMap()
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	e := Event{Type: str(m, "Type"), Action: str(m, "Action")}
	actor, _ := m["Actor"].(map[string]any)
	e.Actor.ID = str(actor, "ID")
	if attrs, ok := actor["Attributes"].(map[string]any); ok && len(attrs) > 0 {
		e.Actor.Attributes = make(map[string]string, len(attrs))
		for k := range attrs {
			e.Actor.Attributes[k] = str(attrs, k)
		}
	}
	if e.Type == "" || e.Action == "" {
		return Event{}, false
	}
	return e, true
}

// Dialer is a Publisher that connects to the containerd at address for
// each event, and only then, closing the connection after it: for code
// that has no client of its own and works without containerd (volume
// create), where an event is rare and a dead daemon must cost nothing
// but the event. The events go to namespace unless the context names one.
func Dialer(address, namespace string) Publisher {
	return dialer{address, namespace}
}

type dialer struct{ address, namespace string }

func (d dialer) Publish(ctx context.Context, topic string, ev ctrdevents.Event) error {
	c, err := ctrd.Connect(ctx, d.address, d.namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.EventService().Publish(ctx, topic, ev)
}
