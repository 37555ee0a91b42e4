package registry

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Normalize turns docker's short names into full ones:
// alpine → docker.io/library/alpine:latest.
func Normalize(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid image reference %q: %v", ref, err))
	}
	return named.String(), nil
}

// PullOptions says how to pull and how to show it.
type PullOptions struct {
	Registry Options
	Platform string    // "" for this machine's
	Out      io.Writer // progress; nil for none
	TTY      bool      // Out is a terminal: redraw a line per layer
}

// Pull fetches ref (layers in parallel) and unpacks it for the default
// snapshotter. What was downloaded stays under a lease for a day, so when a
// pull fails half-way (a registry going away), the next pull of the same
// image fetches only what is missing; the image record is only written once
// everything is there, so no half image ever shows in a listing.
func Pull(ctx context.Context, c *containerd.Client, ref string, o PullOptions) (containerd.Image, error) {
	name, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	ctx, done, err := c.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour))
	if err != nil {
		return nil, err
	}
	p := newProgress(c.ContentStore(), o.Out, o.TTY)
	stop := p.run(ctx)
	platform := platforms.DefaultStrict()
	if o.Platform != "" {
		spec, err := platforms.Parse(o.Platform)
		if err != nil {
			stop()
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --platform %q: %v", o.Platform, err))
		}
		platform = platforms.OnlyStrict(spec)
	}
	img, err := c.Pull(ctx, name,
		containerd.WithResolver(Resolver(ctx, o.Registry)),
		containerd.WithPlatformMatcher(platform),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(defaults.DefaultSnapshotter),
		containerd.WithMaxConcurrentDownloads(4),
		containerd.WithImageHandler(images.HandlerFunc(func(_ context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			p.track(d)
			return nil, nil
		})),
	)
	stop()
	if err != nil {
		// The lease is left to expire: it keeps the finished layers for
		// the next try.
		if strings.Contains(err.Error(), "authorization") || strings.Contains(err.Error(), "401") {
			return nil, fmt.Errorf("pull %s: %w (log in first: lepton login %s)", ref, err, hostOf(name))
		}
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	done(context.WithoutCancel(ctx))
	return img, nil
}

// progress shows what a pull is fetching: on a terminal one redrawn line
// per blob with bytes, rate and ETA; elsewhere one line per change.
type progress struct {
	cs  content.Store
	w   io.Writer
	tty bool

	mu    sync.Mutex
	descs []ocispec.Descriptor
	state map[string]string // digest → last reported state
	seen  map[string]int64  // digest → offset at the last tick, for the rate
	start time.Time
	lines int
}

func newProgress(cs content.Store, w io.Writer, tty bool) *progress {
	return &progress{cs: cs, w: w, tty: tty, state: map[string]string{}, seen: map[string]int64{}, start: time.Now()}
}

func (p *progress) track(d ocispec.Descriptor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.descs {
		if x.Digest == d.Digest {
			return
		}
	}
	p.descs = append(p.descs, d)
}

func (p *progress) run(ctx context.Context) (stop func()) {
	if p.w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				p.tick(ctx, true)
				return
			case <-t.C:
				p.tick(ctx, false)
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func (p *progress) tick(ctx context.Context, final bool) {
	p.mu.Lock()
	descs := append([]ocispec.Descriptor{}, p.descs...)
	p.mu.Unlock()
	statuses, _ := p.cs.ListStatuses(ctx, "")
	active := map[string]content.Status{}
	for _, s := range statuses {
		active[s.Ref] = s
	}
	var lines []string
	for _, d := range descs {
		key := remotes.MakeRefKey(ctx, d)
		short := d.Digest.Encoded()
		if len(short) > 12 {
			short = short[:12]
		}
		kind := kindOf(d.MediaType)
		state, detail := "waiting", ""
		if s, ok := active[key]; ok {
			state = "downloading"
			total := s.Total
			if total == 0 {
				total = d.Size
			}
			rate := float64(s.Offset-p.seen[short]) / 0.1
			p.seen[short] = s.Offset
			detail = fmt.Sprintf("%s/%s", size(s.Offset), size(total))
			if rate > 0 && total > s.Offset {
				detail += fmt.Sprintf(" %s/s ETA %s", size(int64(rate)), (time.Duration(float64(total-s.Offset)/rate) * time.Second).Round(time.Second))
			}
		} else if _, err := p.cs.Info(ctx, d.Digest); err == nil {
			state, detail = "done", size(d.Size)
		}
		line := fmt.Sprintf("%s %-8s %-11s %s", short, kind, state, detail)
		lines = append(lines, line)
		if !p.tty && p.state[short] != state && (state != "waiting") {
			p.state[short] = state
			fmt.Fprintf(p.w, "%s %s: %s %s\n", kind, short, state, detail)
		}
	}
	if !p.tty {
		return
	}
	if p.lines > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.lines)
	}
	for _, l := range lines {
		fmt.Fprintf(p.w, "\033[2K%s\n", l)
	}
	p.lines = len(lines)
	if final {
		fmt.Fprintf(p.w, "elapsed %s\n", time.Since(p.start).Round(100*time.Millisecond))
	}
}

func kindOf(mt string) string {
	switch {
	case images.IsLayerType(mt):
		return "layer"
	case images.IsIndexType(mt):
		return "index"
	case images.IsManifestType(mt):
		return "manifest"
	case images.IsConfigType(mt):
		return "config"
	}
	return "blob"
}

func size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, names, i := float64(n), []string{"kB", "MB", "GB", "TB"}, -1
	for f >= unit && i < len(names)-1 {
		f /= unit
		i++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + names[i]
}

// hostOf is the registry host of a normalized reference.
func hostOf(name string) string {
	h, _, _ := strings.Cut(name, "/")
	return h
}
