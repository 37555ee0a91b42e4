//go:build !windows

package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bkclient "github.com/moby/buildkit/client"
)

// PruneOptions says which of the build cache to remove.
type PruneOptions struct {
	All      bool          // also what images or cache mounts still use
	KeepFor  time.Duration // keep what was used within this long
	KeepSize int64         // keep this many bytes of the most recently used
}

// Pruned is what Prune removed.
type Pruned struct {
	Records int
	Bytes   int64
}

// Prune removes build cache from the daemon, starting it if it is not
// running and has cache on disk (HasCache).
func (b *Builder) Prune(ctx context.Context, o PruneOptions) (Pruned, error) {
	if !HasCache(b.daemon) {
		return Pruned{}, nil
	}
	bk, err := b.Client(ctx)
	if err != nil {
		return Pruned{}, err
	}
	ch := make(chan bkclient.UsageInfo)
	var p Pruned
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range ch {
			p.Records++
			p.Bytes += u.Size
		}
	}()
	opts := []bkclient.PruneOption{bkclient.WithKeepOpt(o.KeepFor, o.KeepSize, 0, 0)}
	if o.All {
		opts = append(opts, bkclient.PruneAll)
	}
	err = bk.Prune(ctx, ch, opts...)
	close(ch)
	<-done
	return p, err
}

// CacheRecord is one record of the build cache, as DiskUsage reports it.
type CacheRecord struct {
	ID          string
	Type        string // regular, source.local, exec.cachemount, ...
	Size        int64
	InUse       bool
	Shared      bool
	Description string
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	UsageCount  int
}

// Reclaimable says whether a prune without All would remove the record.
func (r CacheRecord) Reclaimable() bool { return !r.InUse && !r.Shared }

// DiskUsage lists the build cache. A daemon lepton owns that has never
// run has no cache, and is not started only to say so.
func (b *Builder) DiskUsage(ctx context.Context) ([]CacheRecord, error) {
	if !HasCache(b.daemon) {
		return nil, nil
	}
	bk, err := b.Client(ctx)
	if err != nil {
		return nil, err
	}
	us, err := bk.DiskUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("build cache disk usage: %w", err)
	}
	out := make([]CacheRecord, 0, len(us))
	for _, u := range us {
		out = append(out, CacheRecord{
			ID: u.ID, Type: string(u.RecordType), Size: u.Size, InUse: u.InUse, Shared: u.Shared,
			Description: u.Description, CreatedAt: u.CreatedAt, LastUsedAt: u.LastUsedAt, UsageCount: u.UsageCount,
		})
	}
	return out, nil
}

// HasCache says whether the daemon for o may hold build cache: one given
// by BUILDKIT_HOST always may; lepton's own only once it has a state
// directory, that is once a build or prune started it.
func HasCache(o DaemonOptions) bool {
	d := DaemonFor(o)
	if d.Dir == "" {
		return true
	}
	_, err := os.Stat(filepath.Join(d.Dir, "root"))
	return err == nil
}
