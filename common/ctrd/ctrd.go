// Package ctrd connects lepton to containerd: one place that checks the
// socket before dialling, so a daemon that is not running is one clear
// error (of class ErrUnavailable) rather than a gRPC timeout, and that
// bounds the dial. The client it returns is containerd's own, safe for
// concurrent use; the namespace travels as the client's default.
package ctrd

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/identifiers"
	"github.com/containerd/errdefs"
)

// DefaultAddress is where containerd listens unless told otherwise.
const DefaultAddress = "/run/containerd/containerd.sock"

// DialTimeout bounds how long a command waits for containerd to answer
// before it says so, instead of hanging.
const DialTimeout = 3 * time.Second

// Connect returns a client for the containerd at address, with namespace as
// its default. It first checks that something listens on the socket, so a
// stopped daemon costs one clear line instead of a gRPC timeout; the error
// is of class ErrUnavailable.
func Connect(ctx context.Context, address, namespace string) (*containerd.Client, error) {
	if err := identifiers.Validate(namespace); err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	if err := probe(ctx, address); err != nil {
		return nil, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf(
			"cannot reach containerd at %s: %v (is it running? install.sh starts it)", address, err))
	}
	c, err := containerd.New(address,
		containerd.WithDefaultNamespace(namespace),
		containerd.WithTimeout(DialTimeout))
	if err != nil {
		return nil, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("cannot reach containerd at %s: %v (is it running? install.sh starts it)", address, err))
	}
	return c, nil
}

// probe dials a unix socket once. A stale socket file left by a dead daemon
// fails here at once with "connection refused".
func probe(ctx context.Context, address string) error {
	path := strings.TrimPrefix(address, "unix://")
	if strings.HasPrefix(path, `\\.\pipe\`) {
		return nil // Windows named pipe: leave it to the client
	}
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("no socket at %s", path)
		}
		return err
	}
	d := net.Dialer{Timeout: DialTimeout}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if oe, ok := err.(*net.OpError); ok {
			return oe.Err
		}
		return err
	}
	return conn.Close()
}
