//go:build !windows

package containers

import (
	"context"
	"fmt"
	"os"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/store"
)

// orphanAge is how old an unclaimed snapshot must be before it counts as
// left behind: another tool sharing the namespace (ctr run) makes its
// snapshot a moment before its container.
const orphanAge = time.Minute

// Check walks the name claims, container directories, snapshots and tasks
// of d's namespace and reports what killed or crashed commands left:
//
//   - stale-claim: a name held by a container that does not exist and
//     whose creator is gone (repair: free the name, remove its snapshot and
//     directory);
//   - unfinished-create: a run or create killed before it finished; repair
//     keeps a container whose task runs and rolls back one that never ran;
//   - unfinished-start: a start killed half-way; repair deletes the task
//     it created but never started;
//   - damaged-claim, wrong-claim: a claim that cannot be read, or names a
//     container now called something else (repair: drop the claim);
//   - orphan-dir: a container directory with no container and no claim;
//   - orphan-snapshot: a container snapshot with no container, no claim,
//     older than a minute;
//   - orphan-task: a task whose container is gone, which no command can
//     reach (repair: kill and delete it);
//   - stale-mount: a container file system a killed cp left mounted
//     (repair: unmount it);
//   - unfinished-commit: a container a killed commit left paused
//     (repair: resume it).
//
// Objects whose worker process still lives are skipped, and every removal
// is decided again under the name lock that creating commands hold.
func (d *Containers) Check(ctx context.Context, repair bool) ([]check.Problem, error) {
	return walk(ctx, d, repair, true)
}

// Sweep repairs what Check finds in name claims and container directories
// (container prune does it after its removals); it leaves orphan tasks,
// snapshots and mounts alone.
func (d *Containers) Sweep(ctx context.Context) error {
	_, err := walk(ctx, d, true, false)
	return err
}

func walk(ctx context.Context, d *Containers, repair, full bool) ([]check.Problem, error) {
	r := &check.Report{Area: "containers", Repair: repair}
	c := d.client
	// The order matters: what is listed first is checked against lists
	// made after it, so an object made meanwhile is seen with its owner.
	dirs, _ := os.ReadDir(d.DirsRoot())
	var snaps map[string]time.Time
	tl := &tasks.ListTasksResponse{}
	if full {
		var err error
		if snaps, err = containerSnapshots(ctx, c); err != nil {
			return nil, err
		}
		if tl, err = c.TaskService().List(ctx, &tasks.ListTasksRequest{}); err != nil {
			return nil, err
		}
	}
	claims, err := d.names.List(ctx)
	if err != nil {
		return nil, err
	}
	claimed := map[string]bool{}
	for _, e := range claims {
		if id := checkClaim(ctx, d, r, e.Name); id != "" {
			claimed[id] = true
		}
	}
	all, err := c.ContainerService().List(ctx)
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, info := range all {
		exists[info.ID] = true
	}
	for _, de := range dirs {
		id := de.Name()
		if exists[id] || claimed[id] || !de.IsDir() {
			continue
		}
		dir := d.Dir(id)
		r.Add("orphan-dir", dir, "a container directory with no container and no name claim; repair removes it", func() error {
			return os.RemoveAll(dir)
		})
	}
	if !full {
		return r.Problems, nil
	}
	checkMounts(d, r)
	checkPaused(ctx, d, r, all)
	sn := c.SnapshotService(defaults.DefaultSnapshotter)
	for key, created := range snaps {
		if exists[key] || claimed[key] || time.Since(created) < orphanAge {
			continue
		}
		r.Add("orphan-snapshot", key, "a container snapshot with no container and no name claim; repair removes it", func() error {
			if err := sn.Remove(ctx, key); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			return nil
		})
	}
	for _, t := range tl.Tasks {
		if exists[t.ID] || claimed[t.ID] {
			continue
		}
		id := t.ID
		r.Add("orphan-task", id, fmt.Sprintf("a task (pid %d) whose container is gone, out of every command's reach; repair kills and deletes it", t.Pid), func() error {
			ts := c.TaskService()
			ts.Kill(ctx, &tasks.KillRequest{ContainerID: id, Signal: 9, All: true})
			_, err := ts.Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: id})
			if err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			return nil
		})
	}
	return r.Problems, nil
}

// checkClaim looks at one claim under its lock and returns the container
// ID it names: that container's directory, snapshot and task are the
// claim's business, reported and repaired with it.
func checkClaim(ctx context.Context, d *Containers, r *check.Report, name string) (holds string) {
	c := d.client
	d.names.Locked(ctx, name, func(cl *Claim, ok bool, rec *store.Record) error {
		if !rec.Exists() {
			return nil
		}
		if !ok {
			r.Add("damaged-claim", name, "a name claim that cannot be read; repair frees the name", rec.Remove)
			return nil
		}
		holds = cl.ID
		if cl.Busy() {
			return nil // at work right now
		}
		info, err := c.ContainerService().Get(ctx, cl.ID)
		if errdefs.IsNotFound(err) {
			r.Add("stale-claim", name, fmt.Sprintf("held by container %s, which does not exist, for a lepton that is gone; repair frees the name", short(cl.ID)), func() error {
				c.SnapshotService(defaults.DefaultSnapshotter).Remove(ctx, cl.ID)
				os.RemoveAll(d.Dir(cl.ID))
				return rec.Remove()
			})
			return nil // the repair above takes its directory and snapshot too
		}
		if err != nil {
			return err
		}
		if got := info.Labels[LabelName]; got != name {
			r.Add("wrong-claim", name, fmt.Sprintf("claimed for container %s, which is named %q; repair frees the name", short(cl.ID), got), rec.Remove)
			return nil
		}
		done := func() error {
			b := mine(cl.ID, "")
			b.PID, b.PIDStart, b.At = cl.PID, cl.PIDStart, cl.At
			return writeClaim(rec, b)
		}
		switch cl.Op {
		case OpCreate:
			if running(ctx, c, cl.ID) {
				r.Add("unfinished-create", name, fmt.Sprintf("the lepton making container %s was killed after starting it; repair marks it complete", short(cl.ID)), done)
				return nil
			}
			r.Add("unfinished-create", name, fmt.Sprintf("the lepton making container %s was killed before it ran; repair removes it", short(cl.ID)), func() error {
				// Without Names: this claim's lock is held here, and the
				// claim goes with rec.Remove below.
				nd := *d
				nd.names = nil
				if err := nd.Remove(ctx, cl.ID, RemoveOptions{AnonVolumes: true}); err != nil {
					return err
				}
				return rec.Remove()
			})
		case OpStart:
			r.Add("unfinished-start", name, fmt.Sprintf("the lepton starting container %s was killed; repair deletes a task it never started", short(cl.ID)), func() error {
				if err := deleteCreatedTask(ctx, d, cl.ID); err != nil {
					return err
				}
				return done()
			})
		case "":
		default:
			r.Add("unfinished-"+cl.Op, name, "a lepton was killed at work on it; repair clears the mark", done)
		}
		return nil
	})
	return holds
}

// running says whether container id has a task past its creation.
func running(ctx context.Context, c *containerd.Client, id string) bool {
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return false
	}
	_, st, err := taskStatus(ctx, ctr)
	return err == nil && st != "" && st != containerd.Created && st != containerd.Stopped
}

// deleteCreatedTask deletes a task that was created but never started,
// and whatever network it had joined.
func deleteCreatedTask(ctx context.Context, d *Containers, id string) error {
	ctr, err := d.client.LoadContainer(ctx, id)
	if err != nil {
		return err
	}
	task, st, err := taskStatus(ctx, ctr)
	if err != nil || st != containerd.Created {
		return err
	}
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	if d.nets != nil {
		d.nets.Detach(ctx, id)
	}
	return nil
}

// containerSnapshots lists the active snapshots keyed like lepton's
// container IDs (64 hex digits), with their creation times.
func containerSnapshots(ctx context.Context, c *containerd.Client) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := c.SnapshotService(defaults.DefaultSnapshotter).Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive && isID(info.Name) {
			out[info.Name] = info.Created
		}
		return nil
	})
	return out, err
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
