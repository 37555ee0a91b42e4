//go:build !windows

package build

import (
	"context"
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
// running: its cache is on disk either way.
func (b *Builder) Prune(ctx context.Context, o PruneOptions) (Pruned, error) {
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
