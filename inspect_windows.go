package main

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

// lookupKinds: lepton has no containers, networks or volumes on Windows,
// so inspect is of images.
func lookupKinds(_ context.Context, _ *cli.Env, _, targets []string) ([]string, bool) {
	kinds := make([]string, len(targets))
	for i := range kinds {
		kinds[i] = "image"
	}
	return kinds, true
}
