package registry

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushOptions says how to push and how to show it.
type PushOptions struct {
	Registry Options   // where hosts.toml files and docker's config.json are
	Platform string    // "" pushes every platform the store holds
	Out      io.Writer // one line per blob as it goes; nil for none
}

// Push sends img to the registry its name points at, found through
// hosts.toml and authenticated with docker's credentials, as Pull fetches.
func Push(ctx context.Context, c *containerd.Client, img images.Image, o PushOptions) error {
	opts := []containerd.RemoteOpt{containerd.WithResolver(Resolver(ctx, o.Registry))}
	if o.Platform != "" {
		spec, err := platforms.Parse(o.Platform)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad platform %q: %v", o.Platform, err))
		}
		opts = append(opts, containerd.WithPlatformMatcher(platforms.OnlyStrict(spec)))
	}
	if o.Out != nil {
		var mu sync.Mutex // layers go in parallel
		opts = append(opts, containerd.WithImageHandlerWrapper(func(h images.Handler) images.Handler {
			return images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
				children, err := h.Handle(ctx, d)
				mu.Lock()
				fmt.Fprintf(o.Out, "%s: pushed %s\n", remotes.MakeRefKey(ctx, d), size(d.Size))
				mu.Unlock()
				return children, err
			})
		}))
	}
	if err := c.Push(ctx, img.Name, img.Target, opts...); err != nil {
		msg := oneLine(err)
		if strings.Contains(msg, "authorization") || strings.Contains(msg, "401") {
			return &lineError{fmt.Sprintf("push %s: %s (log in first: lepton login %s)", img.Name, msg, hostOf(img.Name)), err}
		}
		return fmt.Errorf("push %s: %w", img.Name, err)
	}
	return nil
}
