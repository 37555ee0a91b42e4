//go:build !windows

package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/common/store"
)

// Ops a claim may be marked with while a process works on its container.
const (
	OpCreate = "create" // the container is being made (and, by run, started)
	OpStart  = "start"  // the container exists and is being started
	OpRename = "rename" // the container is taking this name
)

// Claim is a name's record.
type Claim struct {
	ID       string
	PID      int
	PIDStart uint64 // the worker's start time, so a reused PID is not mistaken for it
	At       time.Time
	Op       string `json:",omitempty"`
}

// Busy says whether a live process is still at work on the claim's
// container.
func (cl *Claim) Busy() bool {
	return cl.Op != "" && cl.PID > 0 && cl.PIDStart != 0 && proc.Start(cl.PID) == cl.PIDStart
}

// busy is the error for a container another live lepton is working on.
func (cl *Claim) busy(name string) error {
	verb := map[string]string{OpCreate: "creating", OpRename: "renaming"}[cl.Op]
	if verb == "" {
		verb = cl.Op + "ing"
	}
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is busy: another lepton (pid %d) is %s it; try again when it is done", name, cl.PID, verb))
}

// Names is the name claims of one namespace.
type Names struct {
	coll *store.Collection
}

// OpenNames opens the name claims of namespace in s.
func OpenNames(s *store.Store, namespace string) (*Names, error) {
	coll, err := s.Collection(namespace, "names")
	if err != nil {
		return nil, err
	}
	return &Names{coll: coll}, nil
}

func mine(id, op string) Claim {
	return Claim{ID: id, PID: os.Getpid(), PIDStart: proc.Start(os.Getpid()), At: time.Now().UTC(), Op: op}
}

func decode(b []byte) (Claim, bool) {
	var cl Claim
	return cl, json.Unmarshal(b, &cl) == nil && cl.ID != ""
}

// Claim takes name for the container id this process is about to create
// (Op "create"), failing with ErrAlreadyExists if a live claim holds it: one
// whose container exists in containerd or whose creator is still at work.
// It returns the ID of a stale claim it replaced, whose leftovers (snapshot,
// directory) the caller should clean.
func (n *Names) Claim(ctx context.Context, c *containerd.Client, name, id string) (stale string, err error) {
	return n.claim(ctx, c, name, id, OpCreate)
}

// Take is Claim for a container that already exists (rename), marked
// OpRename until the caller's Done.
func (n *Names) Take(ctx context.Context, c *containerd.Client, name, id string) error {
	_, err := n.claim(ctx, c, name, id, OpRename)
	return err
}

func (n *Names) claim(ctx context.Context, c *containerd.Client, name, id, op string) (stale string, err error) {
	err = n.Locked(ctx, name, func(old *Claim, ok bool, r *store.Record) error {
		if ok && old.ID != id {
			if live, err := Live(ctx, c, old); err != nil {
				return err
			} else if live {
				return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf(
					"the container name %q is already in use by container %s: remove that container or choose another name", name, old.ID))
			}
			stale = old.ID
		}
		return writeClaim(r, mine(id, op))
	})
	return stale, err
}

// Live says whether a claim still holds its name: its container exists, or
// its creator is still making it.
func Live(ctx context.Context, c *containerd.Client, cl *Claim) (bool, error) {
	if _, err := c.ContainerService().Get(ctx, cl.ID); err == nil {
		return true, nil
	} else if !errdefs.IsNotFound(err) {
		return false, err
	}
	return cl.Op == OpCreate && cl.Busy(), nil
}

// Get returns name's claim.
func (n *Names) Get(ctx context.Context, name string) (Claim, error) {
	b, err := n.coll.Get(ctx, name)
	if err != nil {
		return Claim{}, err
	}
	cl, ok := decode(b)
	if !ok {
		return Claim{}, errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("name claim %q: damaged record", name))
	}
	return cl, nil
}

// Entry is one claim with its name.
type Entry struct {
	Name  string
	Claim Claim
}

// List returns every claim, damaged records with an empty Claim.
func (n *Names) List(ctx context.Context) ([]Entry, error) {
	es, err := n.coll.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(es))
	for _, e := range es {
		cl, _ := decode(e.Data)
		out = append(out, Entry{Name: e.Key, Claim: cl})
	}
	return out, nil
}

// Release drops name's claim if it is still id's (or damaged).
func (n *Names) Release(ctx context.Context, name, id string) error {
	return n.Locked(ctx, name, func(cl *Claim, ok bool, r *store.Record) error {
		if r.Exists() && (!ok || cl.ID == id) {
			return r.Remove()
		}
		return nil
	})
}

// Idle runs fn under name's lock if no live process is at work on
// container id, and returns ErrFailedPrecondition without running it
// otherwise. A container whose claim is gone or belongs to another
// container is treated as idle: fn decides on containerd's state, which it
// must re-read inside. fn gets the name's record, to release the claim
// without taking its lock again (flock would wait on itself).
func (n *Names) Idle(ctx context.Context, name, id string, fn func(r *store.Record) error) error {
	return n.Locked(ctx, name, func(cl *Claim, ok bool, r *store.Record) error {
		if ok && cl.ID == id && cl.Busy() {
			return cl.busy(name)
		}
		return fn(r)
	})
}

// Locked runs fn with name's record under its lock, for repairs that must
// re-read the claim and act on it at once.
func (n *Names) Locked(ctx context.Context, name string, fn func(cl *Claim, ok bool, r *store.Record) error) error {
	return n.coll.Locked(ctx, name, func(r *store.Record) error {
		var cl Claim
		ok := false
		if b, err := r.Data(); err == nil {
			cl, ok = decode(b)
		}
		return fn(&cl, ok, r)
	})
}

func writeClaim(r *store.Record, cl Claim) error {
	b, err := json.Marshal(cl)
	if err != nil {
		return err
	}
	return r.Write(b)
}

// Begin marks that this process is doing op on container id, unless it is
// already at work on it (a run that creates then starts stays "create",
// so a kill during its start rolls the whole run back). It fails with
// ErrFailedPrecondition while another live lepton works on it.
func (n *Names) Begin(ctx context.Context, name, id, op string) error {
	return n.Locked(ctx, name, func(cl *Claim, ok bool, r *store.Record) error {
		if ok {
			if cl.ID != id {
				return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container name %q now belongs to container %s", name, cl.ID))
			}
			if cl.Busy() {
				if cl.PID == os.Getpid() {
					return nil
				}
				return cl.busy(name)
			}
		}
		return writeClaim(r, mine(id, op))
	})
}

// Done marks the work on container id finished; a claim that is no longer
// id's is left alone.
func (n *Names) Done(ctx context.Context, name, id string) error {
	return n.Locked(ctx, name, func(cl *Claim, ok bool, r *store.Record) error {
		if ok && cl.ID == id && cl.Op != "" {
			cl.Op = ""
			return writeClaim(r, *cl)
		}
		return nil
	})
}
