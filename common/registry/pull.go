package registry

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/transfer"
	transferimage "github.com/containerd/containerd/v2/core/transfer/image"
	transferregistry "github.com/containerd/containerd/v2/core/transfer/registry"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"

	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/leases"
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
	Registry Options   // where hosts.toml files and docker's config.json are
	Platform string    // "" for this machine's
	Out      io.Writer // progress; nil for none
	TTY      bool      // Out is a terminal: redraw a line per layer
}

// Pull fetches ref through containerd's transfer service, which fetches
// (layers in parallel) and unpacks inside the daemon, so the bytes are not
// copied through lepton. Registry configuration comes from the hosts.toml
// directory and credentials from lepton, on the daemon's asking. The pull
// runs under a lease that outlives a failure for a day: when a registry
// goes away mid-pull, the next pull fetches only what is missing, resuming
// a half-fetched layer; the image record is only written once everything
// is there, so no half image ever shows in a listing.
//
// Resuming needs a registry that serves open-ended ranges. One that
// refuses them (416) would refuse every later pull of the layer for as
// long as the half-fetched copy lives, so Pull then throws the partial
// copies away and fetches those layers again from the start.
func Pull(ctx context.Context, c *containerd.Client, ref string, o PullOptions) (containerd.Image, error) {
	name, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	platform := platforms.DefaultSpec()
	if o.Platform != "" {
		if platform, err = platforms.Parse(o.Platform); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad --platform %q: %v", o.Platform, err))
		}
	}
	ctx, done, err := leases.With(ctx, c, leases.Pull, map[string]string{leases.LabelRef: name})
	if err != nil {
		return nil, err
	}
	hostsDir := o.Registry.HostsDir
	if hostsDir == "" {
		hostsDir = DefaultHostsDir
	}
	src, err := transferregistry.NewOCIRegistry(ctx, name,
		transferregistry.WithHostDir(hostsDir),
		transferregistry.WithCredentials(credentialHelper(o.Registry)))
	if err != nil {
		return nil, err
	}
	dst := transferimage.NewStore(name,
		transferimage.WithPlatforms(platform),
		transferimage.WithUnpack(platform, defaults.DefaultSnapshotter))
	discarded := map[string]bool{}
	for attempt := 0; ; attempt++ {
		p := newProgress(o.Out, o.TTY)
		err = c.Transfer(ctx, src, dst, transfer.WithProgress(p.event))
		p.finish(err == nil)
		if err == nil || attempt >= maxResumeRetries || !resumeRefused(err) {
			break
		}
		n, derr := discardPartial(ctx, c, err, discarded)
		if derr != nil || n == 0 {
			break
		}
		if o.Out != nil {
			fmt.Fprintf(o.Out, "the registry cannot resume a download: fetching %d partial blob(s) again from the start\n", n)
		}
	}
	if err != nil {
		// The lease is left to expire: it keeps the finished layers for
		// the next try.
		msg := oneLine(err)
		if strings.Contains(msg, "authorization") || strings.Contains(msg, "401") {
			return nil, &lineError{fmt.Sprintf("pull %s: %s (log in first: lepton login %s)", ref, msg, hostOf(name)), err}
		}
		return nil, &lineError{fmt.Sprintf("pull %s: %s", ref, msg), err}
	}
	img, err := c.GetImage(ctx, name)
	if err != nil {
		return nil, err
	}
	done(context.WithoutCancel(ctx))
	forgetAbandoned(context.WithoutCancel(ctx), c, name)
	// docker's pull event, after containerd's own naming of the image
	// (its tag event); best effort, see events.Publish.
	events.Publish(ctx, c.EventService(), "", events.Event{Type: events.Image, Action: "pull",
		Actor: events.Actor{ID: name, Attributes: map[string]string{"name": name}}})
	return img, nil
}

// maxResumeRetries bounds the fresh starts after refused resumes; each one
// needs a partial blob not discarded before, so a pull cannot loop.
const maxResumeRetries = 8

// resumeRefused reports whether err says the registry would not serve the
// rest of a half-fetched blob: 416 for a range it does not understand, or
// an answer from another offset than the one asked for.
func resumeRefused(err error) bool {
	return resumeRefusal.MatchString(err.Error())
}

// resumeRefusal is what containerd's fetcher says when a resume fails.
var resumeRefusal = regexp.MustCompile(`(?i)\b416\b|range not satisfiable|unhandled content range|unable to resume|discard to offset`)

var digestInText = regexp.MustCompile(`sha(256|512):[0-9a-f]{64,128}`)

// discardPartial aborts the half-fetched blobs a refused resume is about,
// so the next attempt starts them from zero, and returns how many it
// aborted that had not been before. The blobs are the ones err names; an
// error naming none is taken to be about the partial blobs of pulls whose
// lepton is gone, which nothing can resume from that registry either.
func discardPartial(ctx context.Context, c *containerd.Client, err error, done map[string]bool) (int, error) {
	cs := c.ContentStore()
	statuses, lerr := cs.ListStatuses(ctx)
	if lerr != nil {
		return 0, lerr
	}
	named := digestInText.FindAllString(err.Error(), -1)
	abandoned := map[string]bool{}
	if len(named) == 0 {
		stale, serr := leases.StaleLeases(ctx, c)
		if serr != nil {
			return 0, serr
		}
		for _, l := range stale {
			if leases.Purpose(l) != leases.Pull {
				continue
			}
			res, rerr := c.LeasesService().ListResources(ctx, l)
			if rerr != nil {
				continue
			}
			for _, r := range res {
				if r.Type == "ingests" {
					abandoned[r.ID] = true
				}
			}
		}
	}
	n := 0
	for _, st := range statuses {
		if done[st.Ref] {
			continue
		}
		hit := abandoned[st.Ref]
		for _, d := range named {
			hit = hit || strings.Contains(st.Ref, d)
		}
		if !hit {
			continue
		}
		if aerr := cs.Abort(ctx, st.Ref); aerr != nil && !errdefs.IsNotFound(aerr) {
			return n, aerr
		}
		done[st.Ref] = true
		n++
	}
	return n, nil
}

// forgetAbandoned deletes the leases of earlier pulls of name whose lepton
// was killed: they kept a half-fetched image for a resume that has now
// happened. Failing to is harmless (they expire), so errors are dropped.
func forgetAbandoned(ctx context.Context, c *containerd.Client, name string) {
	stale, err := leases.StaleLeases(ctx, c)
	if err != nil {
		return
	}
	for _, l := range stale {
		if leases.Purpose(l) == leases.Pull && l.Labels[leases.LabelRef] == name {
			c.LeasesService().Delete(ctx, l)
		}
	}
}

// lineError is an error printed as one line that keeps the class of the
// error it came from (errors.Is sees through it).
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// oneLine joins a multi-line error (containerd joins a registry's error
// list under the HTTP status) so it prints as lepton's one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// credentialHelper answers the daemon's requests for credentials from
// docker's config.json and credential helpers.
type credentialHelper Options

func (h credentialHelper) GetCredentials(_ context.Context, _, host string) (transferregistry.Credentials, error) {
	u, s, err := Credentials(h.DockerConfig, host)
	return transferregistry.Credentials{Host: host, Username: u, Secret: s}, err
}

// progress shows what a pull is fetching, from the transfer service's
// events: on a terminal one redrawn line per blob with bytes, rate and
// ETA; elsewhere one line per change of state.
type progress struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	order []string
	blobs map[string]*blob
	start time.Time
	lines int
	last  time.Time
}

type blob struct {
	kind, state   string
	offset, total int64
	prevAt        time.Time
	prevOffset    int64
	rate          float64
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, blobs: map[string]*blob{}, start: time.Now()}
}

func (p *progress) event(e transfer.Progress) {
	if p.w == nil || e.Desc == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := e.Desc.Digest.Encoded()
	if len(key) > 12 {
		key = key[:12]
	}
	b := p.blobs[key]
	if b == nil {
		b = &blob{kind: kindOf(e.Desc.MediaType), total: e.Desc.Size, prevAt: time.Now()}
		p.blobs[key] = b
		p.order = append(p.order, key)
	}
	state := e.Event
	switch state {
	case "complete", "already exists", "saved", "extracted":
		state, b.offset = "done", b.total
	}
	if e.Progress > 0 {
		b.offset = e.Progress
	}
	if e.Total > 0 {
		b.total = e.Total
	}
	if now := time.Now(); now.Sub(b.prevAt) > 200*time.Millisecond {
		b.rate = float64(b.offset-b.prevOffset) / now.Sub(b.prevAt).Seconds()
		b.prevAt, b.prevOffset = now, b.offset
	}
	if !p.tty {
		if state != b.state && (state == "downloading" || state == "done") {
			fmt.Fprintf(p.w, "%s %s: %s %s\n", b.kind, key, state, size(b.total))
		}
		b.state = state
		return
	}
	b.state = state
	if time.Since(p.last) > 100*time.Millisecond {
		p.draw(false)
	}
}

// finish draws the last picture; after a successful pull every blob is
// done, whichever events arrived.
func (p *progress) finish(ok bool) {
	if p.w == nil || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		for _, b := range p.blobs {
			b.state, b.offset = "done", b.total
		}
	}
	p.draw(true)
}

// draw redraws the table in place; the caller holds mu.
func (p *progress) draw(final bool) {
	p.last = time.Now()
	if p.lines > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.lines)
	}
	for _, key := range p.order {
		b := p.blobs[key]
		detail := size(b.total)
		if b.state != "done" && b.total > 0 {
			detail = fmt.Sprintf("%s/%s", size(b.offset), size(b.total))
			if b.rate > 0 && b.total > b.offset {
				detail += fmt.Sprintf(" %s/s ETA %s", size(int64(b.rate)), (time.Duration(float64(b.total-b.offset)/b.rate) * time.Second).Round(time.Second))
			}
		}
		fmt.Fprintf(p.w, "\033[2K%s %-8s %-11s %s\n", key, b.kind, b.state, detail)
	}
	p.lines = len(p.order)
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
