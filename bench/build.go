//go:build !windows

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/internal/testimage"
	"github.com/lepton-project/lepton/internal/testns"
)

const buildNS = "lepton-bench-build"

// benchBuild times lepton build beside buildctl build against the same
// buildkitd, both cached and with --no-cache, on a FROM+RUN+COPY
// Dockerfile, and the first build after boot (the daemon's start
// included) on its own. buildctl is built from internal/buildkitd, the
// module that pins the daemon.
func benchBuild(tmp, bindir, home, address string, runs int) error {
	if _, err := exec.LookPath("buildkitd"); err != nil {
		fmt.Printf("\nbuild benchmarks skipped: no buildkitd on PATH (install.sh builds it)\n")
		return nil
	}
	buildctl := filepath.Join(tmp, "buildctl")
	cmd := exec.Command("go", "build", "-trimpath", "-o", buildctl, "github.com/moby/buildkit/cmd/buildctl")
	cmd.Dir = "internal/buildkitd"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build buildctl: %v: %s", err, out)
	}
	ctx := namespaces.WithNamespace(context.Background(), buildNS)
	c, err := containerd.New(address)
	if err != nil {
		return err
	}
	defer c.Close()
	daemon := build.DaemonOptions{Containerd: address, Namespace: buildNS, DataRoot: home}
	defer func() {
		build.Stop(daemon)
		// buildkitd keeps its build history in a namespace of its own.
		for _, ns := range []string{buildNS, buildNS + "_history"} {
			if err := testns.Remove(ctx, c, ns); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
		}
	}()

	if err := importBusybox(tmp, address, buildNS); err != nil {
		return err
	}
	dir := filepath.Join(tmp, "buildctx")
	os.MkdirAll(dir, 0o755)
	df := "FROM " + testimage.LocalName + "\nRUN echo built > /built\nCOPY file.txt /file.txt\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), []byte("payload\n"), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "LEPTON_HOME="+home, "CONTAINERD_ADDRESS="+address, "CONTAINERD_NAMESPACE="+buildNS)
	lep := func(extra ...string) []string {
		return append(append([]string{filepath.Join(bindir, "lepton"), "build", "-q", "-t", "bench:lepton"}, extra...), dir)
	}
	ctl := func(extra ...string) []string {
		return append([]string{buildctl, "--addr", build.DaemonFor(daemon).Address, "build",
			"--frontend", "dockerfile.v0", "--local", "context=" + dir, "--local", "dockerfile=" + dir,
			"--opt", "image-resolve-mode=local",
			"--output", "type=image,name=docker.io/library/bench:buildctl,unpack=true"}, extra...)
	}

	fmt.Println()
	medians := map[string]time.Duration{}
	// The first build after boot: no daemon runs, lepton starts it.
	var first []time.Duration
	for i := 0; i < min(runs, 5); i++ {
		if err := build.Stop(daemon); err != nil {
			return err
		}
		ds, err := timeRuns(lep(), env, -1)
		if err != nil {
			return fmt.Errorf("first build: %w", err)
		}
		first = append(first, ds...)
	}
	sortDurations(first)
	report("lepton build, first after boot (starts daemon)", first, medians, "")

	pairs := []struct {
		base, name string
		extra      []string
	}{
		{"buildctl build (cached)", "lepton build (cached)", nil},
		{"buildctl build --no-cache", "lepton build --no-cache", []string{"--no-cache"}},
	}
	for _, pr := range pairs {
		extra := pr.extra
		if err := timePair(pr.base, pr.name, func() []string { return ctl(extra...) }, func() []string { return lep(extra...) }, env, runs, medians); err != nil {
			return err
		}
	}
	return nil
}
