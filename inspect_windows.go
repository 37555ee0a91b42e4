package main

import (
	"context"

	"github.com/lepton-project/lepton/common/cli"
)

// anyContainer: lepton has no containers on Windows, so inspect is of
// images.
func anyContainer(context.Context, *cli.Env, []string, []string) bool { return false }
