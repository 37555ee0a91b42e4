//go:build !windows

// Command webcheck is lepton's container lifecycle in one small program
// built on lepton's common packages alone: it runs a web server in a
// container with a named volume and a published port, waits until the
// server answers, prints the page and the server's log, and removes the
// container and its volume.
//
//	webcheck [-port N] IMAGE
//
// IMAGE needs busybox's sh and httpd. It works where lepton does, with the
// same environment: CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, LEPTON_HOME.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/volumes"
)

func main() {
	port := flag.Int("port", 8080, "Host port to publish the server on, on 127.0.0.1")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: webcheck [-port N] IMAGE")
		os.Exit(2)
	}
	if err := run(context.Background(), flag.Arg(0), *port); err != nil {
		fmt.Fprintln(os.Stderr, "webcheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, image string, port int) error {
	// lepton's global options, from the environment as lepton reads them.
	var g cli.Globals
	g.Resolve(&cli.Env{Getenv: os.Getenv})
	// The shim runs lepton to keep the container's log.
	self := os.Getenv("LEPTON_SELF")
	if self == "" {
		var err error
		if self, err = exec.LookPath("lepton"); err != nil {
			return fmt.Errorf("webcheck needs lepton installed to keep the container's log: %w", err)
		}
	}
	cs, err := g.Containers(ctx, containers.WithLogger(self))
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	ports, err := networks.ParsePublish(fmt.Sprintf("127.0.0.1:%d:80", port))
	if err != nil {
		return err
	}
	vol := fmt.Sprintf("webcheck-%d", os.Getpid())
	ctr, err := cs.Create(ctx, &containers.Plan{
		Config: containers.Config{
			Name:       vol,
			Image:      image,
			Cmd:        []string{"sh", "-c", "echo hello from $(hostname) > /www/index.html && exec httpd -f -v -p 80 -h /www"},
			HostConfig: containers.HostConfig{NetworkMode: networks.DefaultName},
		},
		Mounts:  []containers.Mount{{Type: "volume", Source: vol, Target: "/www"}},
		Network: &networks.Plan{Networks: []networks.Attachment{{Network: networks.DefaultName}}, Ports: ports},
	}, containers.ForStart())
	if err != nil {
		return err
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		cs.Remove(ctx, ctr.ID(), containers.RemoveOptions{Kill: true})
		cs.Volumes().Remove(ctx, vol, volumes.ContainerUsers(c))
	}()
	if _, _, err := cs.Start(ctx, ctr); err != nil {
		return err
	}
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Print(body)
	// httpd -v logs each request on stderr, which the log keeps.
	return printLog(cs.LogPath(ctr.ID()), 5*time.Second)
}

// get fetches url until it answers 200 or the deadline passes.
func get(url string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return string(b), nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no answer within %v: %w", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// printLog prints the container's log once it holds a line.
func printLog(path string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if len(b) > 0 {
			for _, line := range strings.SplitAfter(strings.TrimSpace(string(b)), "\n") {
				var e containers.LogEntry
				if json.Unmarshal([]byte(line), &e) == nil {
					fmt.Printf("log %s: %s", e.Stream, e.Log)
				}
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the container logged nothing within %v", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
