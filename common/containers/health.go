//go:build !windows

package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/store"
)

// A container's health is docker's: "starting" from each start of its
// task, "healthy" after a check passes, "unhealthy" after Retries checks
// in a row fail (failures in the start period do not count). lepton has no
// daemon, so the checks are run by the process that already lives as long
// as the task: its monitor (the logging process the shim starts, see
// Monitor), or for an attached run without one, that lepton run itself.
// The state is in <Dir>/health.json, written whole each time.
const healthFile = "health.json"

// Health statuses.
const (
	HealthNone      = "none" // no healthcheck
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Docker's defaults for the parts of a HEALTHCHECK left out.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthRetries       = 3
	defaultHealthStartInterval = 5 * time.Second
	maxHealthLog               = 5
	maxHealthOutput            = 4096
)

// Health is a container's State.Health, as docker's inspect shows it.
type Health struct {
	Status        string
	FailingStreak int
	Log           []HealthResult
}

// HealthResult is one check.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// HasHealthcheck says whether hc asks for checks (HEALTHCHECK NONE and
// --no-healthcheck do not).
func HasHealthcheck(hc *dockerspec.HealthcheckConfig) bool {
	return hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE"
}

// ReadHealth reads the health state kept in container directory dir; nil
// if no check has run there.
func ReadHealth(dir string) *Health {
	b, err := os.ReadFile(filepath.Join(dir, healthFile))
	if err != nil {
		return nil
	}
	var h Health
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

func writeHealth(dir string, h *Health) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	// Into the directory as it is: a container removed meanwhile must not
	// get it back.
	return store.WriteFile(filepath.Join(dir, healthFile), b, 0o600)
}

// HealthOption adds to what RunHealthchecks does.
type HealthOption func(*healthOptions)

type healthOptions struct {
	events    events.Publisher
	namespace string
}

// HealthEvents has RunHealthchecks publish docker's events through p (into
// namespace; "" for the context's or the client's) when the health
// changes: "health_status: healthy" and "health_status: unhealthy".
func HealthEvents(p events.Publisher, namespace string) HealthOption {
	return func(o *healthOptions) { o.events, o.namespace = p, namespace }
}

// publish tells of ctr's new health status, as it is named now.
func (o *healthOptions) publish(ctx context.Context, ctr containerd.Container, status string) {
	if o.events == nil {
		return
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return
	}
	if a, ok := EventActor(info); ok {
		events.Publish(ctx, o.events, o.namespace, events.Event{Type: events.Container, Action: "health_status: " + status, Actor: a})
	}
}

// RunHealthchecks runs healthcheck hc in ctr's task until ctx ends or the
// task stops running, keeping the state in ctr's directory dir. It returns
// at once if hc asks for no checks.
func RunHealthchecks(ctx context.Context, ctr containerd.Container, dir string, hc *dockerspec.HealthcheckConfig, opts ...HealthOption) {
	var o healthOptions
	for _, opt := range opts {
		opt(&o)
	}
	if !HasHealthcheck(hc) {
		os.Remove(filepath.Join(dir, healthFile))
		return
	}
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	started := time.Now()
	h := &Health{Status: HealthStarting, Log: []HealthResult{}}
	writeHealth(dir, h)
	startInterval := hc.StartInterval
	if startInterval <= 0 {
		startInterval = defaultHealthStartInterval
	}
	seen := false
	for {
		// While starting, in the start period, docker probes every
		// StartInterval; otherwise every Interval.
		wait := interval
		if h.Status == HealthStarting && time.Since(started) < hc.StartPeriod {
			wait = min(startInterval, interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		// The monitor starts while the shim makes the task, so a task not
		// found yet is no end; one not found after it was seen has been
		// deleted. Other failures (containerd restarting) skip a check.
		task, err := ctr.Task(ctx, nil)
		if errdefs.IsNotFound(err) && seen {
			return
		}
		if err != nil {
			continue
		}
		seen = true
		st, err := task.Status(ctx)
		if err != nil {
			continue
		}
		if st.Status == containerd.Stopped {
			return
		}
		if st.Status != containerd.Running {
			continue // paused: no check until it runs again, as in docker
		}
		r := probe(ctx, ctr, task, hc.Test, timeout)
		if ctx.Err() != nil {
			return
		}
		h.Log = append(h.Log, r)
		if len(h.Log) > maxHealthLog {
			h.Log = h.Log[len(h.Log)-maxHealthLog:]
		}
		was := h.Status
		switch {
		case r.ExitCode == 0:
			h.Status, h.FailingStreak = HealthHealthy, 0
		case r.Start.Sub(started) < hc.StartPeriod && h.Status == HealthStarting:
			// A failure while the container is starting does not count.
		default:
			h.FailingStreak++
			if h.FailingStreak >= retries {
				h.Status = HealthUnhealthy
			}
		}
		writeHealth(dir, h)
		if h.Status != was {
			o.publish(ctx, ctr, h.Status)
		}
	}
}

// probe runs one check in the task, as an exec of the container's own
// process settings with the check's command.
func probe(ctx context.Context, ctr containerd.Container, task containerd.Task, test []string, timeout time.Duration) HealthResult {
	r := HealthResult{Start: time.Now().UTC()}
	done := func(code int, out string) HealthResult {
		if len(out) > maxHealthOutput {
			out = out[:maxHealthOutput]
		}
		r.End, r.ExitCode, r.Output = time.Now().UTC(), code, out
		return r
	}
	var args []string
	switch {
	case len(test) >= 2 && test[0] == "CMD":
		args = test[1:]
	case len(test) == 2 && test[0] == "CMD-SHELL":
		args = []string{"/bin/sh", "-c", test[1]}
	default:
		return done(-1, fmt.Sprintf("bad healthcheck test %q: want CMD ARG... or CMD-SHELL COMMAND", test))
	}
	spec, err := ctr.Spec(ctx)
	if err != nil || spec.Process == nil {
		return done(-1, fmt.Sprintf("read the container's spec: %v", err))
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal, pspec.ConsoleSize = args, false, nil
	var out syncBuffer
	execID := "health-" + NewID()[:12]
	p, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		return done(-1, StartError(err).Error())
	}
	// Deleting waits for the output to drain (the shim gives it 10s): a
	// check that left a child holding its stdout must not hold the next.
	defer func() { go p.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill) }()
	statusC, err := p.Wait(ctx)
	if err != nil {
		return done(-1, err.Error())
	}
	if err := p.Start(ctx); err != nil {
		return done(-1, StartError(err).Error())
	}
	select {
	case st := <-statusC:
		// The output, all of it; but a check that leaves a child holding
		// its stdout must not hang the monitor.
		ioDone := make(chan struct{})
		go func() { p.IO().Wait(); close(ioDone) }()
		select {
		case <-ioDone:
		case <-time.After(time.Second):
			p.IO().Cancel()
		}
		return done(int(st.ExitCode()), out.String())
	case <-time.After(timeout):
		p.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return done(-1, fmt.Sprintf("Health check exceeded timeout (%s)", timeout))
	case <-ctx.Done():
		return done(-1, "canceled")
	}
}

// syncBuffer is a bytes.Buffer that stdout and stderr may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mergeHealthcheck is docker's rule: options given on the command line
// replace the image's one by one; with none given, the image's holds.
func mergeHealthcheck(given *dockerspec.HealthcheckConfig, partial bool, image *dockerspec.HealthcheckConfig) *dockerspec.HealthcheckConfig {
	if given == nil {
		return image
	}
	if !partial || image == nil {
		return given
	}
	hc := *image
	if len(given.Test) > 0 {
		hc.Test = given.Test
	}
	if given.Interval != 0 {
		hc.Interval = given.Interval
	}
	if given.Timeout != 0 {
		hc.Timeout = given.Timeout
	}
	if given.StartPeriod != 0 {
		hc.StartPeriod = given.StartPeriod
	}
	if given.StartInterval != 0 {
		hc.StartInterval = given.StartInterval
	}
	if given.Retries != 0 {
		hc.Retries = given.Retries
	}
	return &hc
}
