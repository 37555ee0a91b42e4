//go:build !windows

package containers

import (
	"fmt"
	"strconv"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	ctrs "github.com/containerd/containerd/v2/core/containers"
)

// State is a container's docker-style state, from its task (nil when it
// has none) and the labels its last run left.
type State struct {
	Status     string // created, running, paused, exited
	Pid        uint32
	ExitCode   uint32
	FinishedAt time.Time
}

// StateOf reads info's State; t is its task, nil when it has none.
func StateOf(info ctrs.Container, t *tasktypes.Process) State {
	if t == nil {
		if info.Labels[LabelStartedAt] == "" {
			return State{Status: "created"}
		}
		s := State{Status: "exited"}
		if code, err := strconv.Atoi(info.Labels[LabelExitCode]); err == nil {
			s.ExitCode = uint32(code)
		}
		s.FinishedAt, _ = time.Parse(time.RFC3339Nano, info.Labels[LabelFinishedAt])
		return s
	}
	switch t.Status {
	case tasktypes.Status_RUNNING:
		return State{Status: "running", Pid: t.Pid}
	case tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
		return State{Status: "paused", Pid: t.Pid}
	case tasktypes.Status_CREATED:
		return State{Status: "created"}
	default:
		s := State{Status: "exited", ExitCode: t.ExitStatus}
		if t.ExitedAt != nil {
			s.FinishedAt = t.ExitedAt.AsTime()
		}
		return s
	}
}

// StatusText is docker's ps STATUS: "Up 5 seconds", "Exited (0) 2 minutes ago".
func StatusText(now time.Time, info ctrs.Container, st State) string {
	switch st.Status {
	case "running", "paused":
		started, err := time.Parse(time.RFC3339Nano, info.Labels[LabelStartedAt])
		s := "Up"
		if err == nil {
			s = "Up " + HumanDuration(now.Sub(started))
		}
		if st.Status == "paused" {
			s += " (Paused)"
		}
		return s
	case "exited":
		if st.FinishedAt.IsZero() {
			return "Exited"
		}
		return fmt.Sprintf("Exited (%d) %s", st.ExitCode, Ago(now, st.FinishedAt))
	default:
		return "Created"
	}
}

// HealthText is how docker's ps shows health after "Up ...".
func HealthText(h string) string {
	if h == HealthStarting {
		return " (health: starting)"
	}
	return " (" + h + ")"
}

// Ago is HumanDuration since t, as "5 seconds ago".
func Ago(now, t time.Time) string { return HumanDuration(now.Sub(t)) + " ago" }

// HumanDuration is docker's human duration: "Less than a second", "5 seconds",
// "About a minute", "3 hours", "2 days".
func HumanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d.Hours() < 24*14:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	default:
		return fmt.Sprintf("%d weeks", int(d.Hours()/24/7))
	}
}
