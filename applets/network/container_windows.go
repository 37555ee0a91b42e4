package network

import (
	"context"

	"github.com/containerd/errdefs"
)

// container: lepton runs no containers on Windows.
func (a *app) container(context.Context, string) (string, int, error) {
	return "", 0, errdefs.ErrNotImplemented.WithMessage("containers are not supported on Windows")
}
