//go:build !windows

// Package containers is lepton's container lifecycle: create a container
// from a Plan, start it with its log kept, stop, kill, wait for, rename
// and remove it, find it by name or ID prefix, prune the stopped ones, list
// a container's file changes (Diff) or make an image of it (Commit), show
// its log (ShowLog, LogPrinter), run a command in it (Exec, Attach),
// pause it, copy files in and out (Copy), and check what killed commands
// left. It is what lepton's container commands
// are made of, and it prints nothing: every call takes a context first and
// returns errors of containerd's errdefs classes (errdefs.IsNotFound,
// IsAlreadyExists, IsInvalidArgument, IsFailedPrecondition, ...) wrapped
// with what failed.
//
// # Use
//
//	c, _ := ctrd.Connect(ctx, ctrd.DefaultAddress, "default")
//	s, _ := store.Open(ctx, "/var/lib/lepton")
//	cs, _ := containers.Open(c, s, containers.WithLogger("/usr/local/bin/lepton"))
//	ctr, _ := cs.Create(ctx, &containers.Plan{Config: containers.Config{
//		Name: "web", Image: "localhost/busybox:latest", Cmd: []string{"httpd", "-f"},
//	}}, containers.ForStart())
//	task, exited, _ := cs.Start(ctx, ctr)
//	limit := int64(256 << 20)
//	cs.Update(ctx, ctr.ID(), containers.UpdateOptions{Memory: &limit})
//	...
//	cs.Exited(ctx, ctr, task, <-exited)
//	cs.Remove(ctx, ctr.ID(), containers.RemoveOptions{Kill: true})
//
// examples/webcheck in lepton's repository is a whole program.
//
// # What it owns
//
// containerd is the record of which containers exist: each carries the
// Label* labels and its Config as a containerd extension ("lepton/config"),
// so a container removed with ctr is gone for lepton too. lepton's store
// (common/store) keeps what containerd cannot:
//
//	collection "names" of the namespace: one record per container name,
//	{ID, PID, PIDStart, At, Op}. Op is "" once the container is complete,
//	"create" while a run or create is making it, "start" while a start is
//	starting it, "rename" while a rename moves it; PID and PIDStart name
//	the process doing that work.
//
//	<data-root>/containers/<namespace>/<id>/   the container's log
//	(container.log, docker's json-file format), its /etc/hosts,
//	resolv.conf and hostname, and its network plan (common/networks).
//
//	<data-root>/mounts/<namespace>/cp-<pid>-<start>-*   a container's
//	file system (or its image's), mounted for a moment by cp, export,
//	diff or commit (MountSnapshot).
//
// A container's output goes to a logging process the containerd shim runs
// for each start of its task ("lepton-container __log DIR", see WithLogger
// and WriteLog), so logs are kept whether or not anyone is attached.
// Restart policies are carried out by containerd's restart monitor; such a
// container joins and leaves its networks through OCI hooks that run
// lepton, the others from the process that starts and stops them.
//
// # Diff and commit
//
//	changes, _ := cs.Diff(ctx, id)   // []Change: {Added, "/new"}, ...
//	img, _ := cs.Commit(ctx, id, containers.CommitOptions{
//		Ref: "localhost/web:v2", Changes: []string{`CMD ["httpd", "-f"]`}, Pause: true,
//	})
//
// Both compare the container's snapshot with a read-only view of its
// image's top layer; on overlayfs they read the upper directory alone.
// Commit writes the new layer, config and manifest under a lease of its
// own, unpacks the image into the container's snapshotter and names it
// last (CommitPrefix@digest when it has no name). ApplyChanges applies
// docker's commit --change instructions to any image configuration.
//
// # Concurrency
//
// Any number of goroutines and lepton processes may work on one namespace
// at once. Names stay unique because a name is claimed in the store, under
// its flock, before the container is made; a claim whose Op is set is
// honoured only while its process lives (PID and start time), so a process
// killed with SIGKILL never leaves a name or a container busy for ever.
// Every command writes its intent before touching containerd or the host,
// so what a kill leaves has an owner that Check finds and repairs. A
// remover (Prune, Check with repair) decides under the same lock a
// starting command takes, never from a list read earlier. Update (docker
// update: the cgroup of a running task at once, then the OCI spec and the
// Config, so later starts keep it) reads and rewrites a container under
// its name's lock once no other lepton is at work on it; start and rename
// take that lock before they read it, so no change is lost between them.
package containers
