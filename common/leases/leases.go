// Package leases makes the containerd leases lepton holds while it brings
// content in (pull, load, import, a container's snapshot), and finds the
// ones a killed lepton left behind.
//
// A lease pins everything made under it until it is deleted or expires, so
// a lepton killed half-way leaves content that "image prune -a" cannot free
// for as long as the lease lives. Every lease lepton makes therefore names
// lepton and the process that made it in its labels; when that process is
// gone the lease is stale and may be deleted. Leases without these labels
// belong to other tools (ctr, nerdctl, buildkit) and are never touched.
package leases

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/proc"
)

// Labels lepton puts on its leases.
const (
	LabelPID      = "lepton/pid"       // the creating process
	LabelPIDStart = "lepton/pid-start" // its start time (proc.Start), so a reused PID is not taken for it
	LabelBoot     = "lepton/boot"      // the kernel's boot ID: after a reboot no creator lives
	LabelPIDNS    = "lepton/pidns"     // the creator's PID namespace: only there can its PID be checked
	LabelPurpose  = "lepton/purpose"   // what it was made for: "pull", "load", "import", "run", ...
	LabelRef      = "lepton/ref"       // for a pull, the image it fetches
)

// Pull is the purpose of the lease a pull keeps after a failure, so that
// the next pull of the same image resumes instead of starting again.
const Pull = "pull"

// Expiry is how long a lease outlives a lepton killed before deleting it.
// containerd deletes it then; StaleLeases finds it sooner.
const Expiry = 24 * time.Hour

// With returns ctx carrying a new lease made by this process for purpose,
// and the function that deletes it. When ctx already carries a lease it is
// used as it is and the returned function does nothing, as containerd's
// own WithLease does, so nested steps share their caller's lease. extra
// labels are added to lepton's.
func With(ctx context.Context, c *containerd.Client, purpose string, extra map[string]string) (context.Context, func(context.Context) error, error) {
	labels := map[string]string{}
	for k, v := range extra {
		labels[k] = v
	}
	for k, v := range Self() {
		labels[k] = v
	}
	labels[LabelPurpose] = purpose
	return c.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(Expiry), leases.WithLabels(labels))
}

// Self is the labels naming this process as a lease's creator.
func Self() map[string]string {
	pid := os.Getpid()
	return map[string]string{
		LabelPID:      strconv.Itoa(pid),
		LabelPIDStart: strconv.FormatUint(proc.Start(pid), 10),
		LabelBoot:     bootID(),
		LabelPIDNS:    pidNS(),
	}
}

// IsLepton reports whether lepton made l.
func IsLepton(l leases.Lease) bool {
	_, ok := l.Labels[LabelPID]
	return ok
}

// Purpose is what lepton made l for ("pull", "load", ...), "" for a lease
// lepton did not make.
func Purpose(l leases.Lease) string { return l.Labels[LabelPurpose] }

// Stale reports whether l is lepton's and the process that made it is
// gone. A lease whose creator lives in another PID namespace (a lepton in
// a container sharing the daemon) cannot be judged from here and is never
// stale; it still expires.
func Stale(l leases.Lease) bool {
	if !IsLepton(l) {
		return false
	}
	if b := l.Labels[LabelBoot]; b != "" && b != bootID() {
		return true
	}
	if l.Labels[LabelPIDNS] != pidNS() {
		return false
	}
	pid, err := strconv.Atoi(l.Labels[LabelPID])
	if err != nil || pid <= 0 {
		return false // not a label lepton wrote: leave it to its expiry
	}
	start, _ := strconv.ParseUint(l.Labels[LabelPIDStart], 10, 64)
	return !proc.Alive(pid, start)
}

// StaleLeases returns the leases of the client's namespace (or ctx's) that
// lepton made and whose creating process is gone: a lepton killed during a
// pull, load, import or run. Deleting them lets the garbage collector free
// what they pinned; it is always safe, because a creator that is gone can
// no longer need its lease, and a live one (same PID and start time) is
// never reported. The one thing lost is resumption: a stale lease of
// purpose Pull (see Purpose) keeps a half-fetched image so that the next
// pull of it fetches only the rest, until it expires a day after it was
// made. "lepton system check --repair" may report those and leave them;
// "image prune -a" deletes them all.
func StaleLeases(ctx context.Context, c *containerd.Client) ([]leases.Lease, error) {
	all, err := c.LeasesService().List(ctx, `labels."`+LabelPID+`"`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	var out []leases.Lease
	for _, l := range all {
		if Stale(l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// DeleteStale deletes the stale leases StaleLeases finds, except those
// keep says to keep, and returns the ones it deleted. The last deletion is
// synchronous, so what they pinned is collected before DeleteStale
// returns.
func DeleteStale(ctx context.Context, c *containerd.Client, keep func(leases.Lease) bool) ([]leases.Lease, error) {
	stale, err := StaleLeases(ctx, c)
	if err != nil {
		return nil, err
	}
	var doomed []leases.Lease
	for _, l := range stale {
		if keep == nil || !keep(l) {
			doomed = append(doomed, l)
		}
	}
	ls := c.LeasesService()
	var deleted []leases.Lease
	var firstErr error
	for i, l := range doomed {
		var opts []leases.DeleteOpt
		if i == len(doomed)-1 {
			opts = append(opts, leases.SynchronousDelete)
		}
		if err := ls.Delete(ctx, l, opts...); err != nil && !errdefs.IsNotFound(err) {
			if firstErr == nil {
				firstErr = fmt.Errorf("delete lease %s: %w", l.ID, err)
			}
			continue
		}
		deleted = append(deleted, l)
	}
	return deleted, firstErr
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

func pidNS() string {
	s, _ := os.Readlink("/proc/self/ns/pid")
	return s
}
