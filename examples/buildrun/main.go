//go:build !windows

// Command buildrun builds an image from a Dockerfile and runs it once,
// on lepton's common packages alone: it is what a "build then up" tool
// does. It prints the container's output and its exit code, then removes
// the container, and the image unless -keep.
//
//	buildrun [-t NAME] [-keep] CONTEXT
//
// It works where lepton does, with the same environment:
// CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, LEPTON_HOME, BUILDKIT_HOST.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/lepton-project/lepton/common/build"
	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

func main() {
	tag := flag.String("t", "buildrun:latest", "Name for the image")
	keep := flag.Bool("keep", false, "Keep the image")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: buildrun [-t NAME] [-keep] CONTEXT")
		os.Exit(2)
	}
	code, err := run(context.Background(), flag.Arg(0), *tag, *keep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildrun:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(ctx context.Context, dir, tag string, keep bool) (int, error) {
	var g cli.Globals
	g.Resolve(&cli.Env{Getenv: os.Getenv})
	self := os.Getenv("LEPTON_SELF")
	if self == "" {
		var err error
		if self, err = exec.LookPath("lepton"); err != nil {
			return 0, fmt.Errorf("buildrun needs lepton installed to keep the container's log: %w", err)
		}
	}
	cs, err := g.Containers(ctx, containers.WithLogger(self))
	if err != nil {
		return 0, err
	}
	c := cs.Client()
	defer c.Close()

	// The build: the daemon is lepton's own for this namespace, started
	// here if no build has started it yet.
	b := build.New(c, build.DaemonOptions{
		Host: os.Getenv("BUILDKIT_HOST"), Containerd: g.Address, Namespace: g.Namespace, DataRoot: g.DataRoot,
	}, g.Registry())
	defer b.Close()
	res, err := b.Build(ctx, build.Options{Context: dir, Tags: []string{tag}})
	if err != nil {
		return 0, err
	}
	fmt.Printf("built %s (%s)\n", tag, res.Digest)
	if !keep {
		defer c.ImageService().Delete(context.WithoutCancel(ctx), res.Names[0])
	}

	// The run: create, start, wait for the exit, print the log.
	ctr, err := cs.Create(ctx, &containers.Plan{Config: containers.Config{Image: tag}}, containers.ForStart())
	if err != nil {
		return 0, err
	}
	defer cs.Remove(context.WithoutCancel(ctx), ctr.ID(), containers.RemoveOptions{Kill: true})
	task, exited, err := cs.Start(ctx, ctr)
	if err != nil {
		return 0, err
	}
	st := <-exited
	cs.Exited(ctx, ctr, task, st)
	containers.WaitLogger(cs.Dir(ctr.ID()), 5*time.Second) // Exited deleted the task: the log is whole
	log, err := os.ReadFile(cs.LogPath(ctr.ID()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		var e containers.LogEntry
		if json.Unmarshal([]byte(line), &e) == nil {
			fmt.Print(e.Log)
		}
	}
	fmt.Printf("exit code %d\n", st.ExitCode())
	return int(st.ExitCode()), nil
}
