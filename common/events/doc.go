// Package events is docker's event stream over containerd's event
// service: what happens to containers, images, networks and volumes, as
// docker's `events` shows it.
//
// containerd already tells what it does (a container created, a task
// started or exited, an image named) on its event service. Stream
// subscribes to it for one namespace and turns each envelope into an
// Event shaped like docker's: /tasks/start becomes "container start",
// /tasks/exit "container die" with the exit code, /images/create
// "image tag", and so on. What containerd cannot know, because it lives in
// lepton's store (networks, volumes, container names), lepton publishes
// into the same service with Publish, so every lepton process, and any
// other client of the daemon, sees it as it happens:
//
//	p := client.EventService()
//	events.Publish(ctx, p, "default", events.Event{Type: events.Volume, Action: "create",
//		Actor: events.Actor{ID: "data", Attributes: map[string]string{"driver": "local"}}})
//
//	err := events.Stream(ctx, client, "default", nil, func(e events.Event) error {
//		fmt.Println(e) // 2026-12-02T18:00:00.123456789Z volume create data (driver=local)
//		return nil
//	})
//
// lepton's own events travel under topics /lepton/<type>/<action>
// (/lepton/network/create, /lepton/container/rename), each component a
// containerd identifier as the daemon requires, and carry a
// google.protobuf.Struct ({"Type", "Action", "Actor": {"ID",
// "Attributes"}}): a well-known type that every protobuf runtime, in any
// language, decodes without lepton's code, where a type of lepton's own
// registered with typeurl would need lepton's name for it and a global
// registration at init. (ctr events links no Struct and skips them with a
// warning; it would skip a lepton type as well.)
//
// What the stream cannot do, because containerd keeps no history: show
// events from before it subscribed (docker's --since in the past). And
// it is one namespace's view, as docker's is one daemon's: events of other
// namespaces are left out.
//
// Publishing is best effort by design. A command that has made a network
// must not fail, or undo it, because the event about it could not be
// sent (containerd down, as volume commands allow): callers drop
// Publish's error. Publish gives up after PublishTimeout, so a hung daemon
// costs a command that long at most.
package events
