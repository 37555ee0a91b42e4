//go:build !linux

package rootless

import (
	"context"
	"errors"
)

// Rootless mode needs Linux's user namespaces; elsewhere lepton is a
// client only and every step says so.

var errLinuxOnly = errors.New("rootless mode needs Linux")

const canEnter = false

// StartOptions says how to start the daemon.
type StartOptions struct {
	Self, Net  string
	Foreground bool
}

// EnterOptions says what the process becomes inside.
type EnterOptions struct {
	StartOptions
	DataRoot string
}

// Prerequisite is one thing the rootless daemon needs.
type Prerequisite struct {
	What   string
	OK     bool
	Detail string
}

func (p Prerequisite) String() string { return p.What + ": " + p.Detail }

func ownedBy(string, int) bool { return false }

// Check says that rootless mode needs Linux.
func Check(string) []Prerequisite {
	return []Prerequisite{{What: "system", Detail: errLinuxOnly.Error()}}
}

// Running is false: there is no rootless daemon here.
func (d Daemon) Running() (int, bool) { return 0, false }

// Start fails: rootless mode needs Linux.
func (d Daemon) Start(context.Context, StartOptions) (int, error) { return 0, errLinuxOnly }

// Stop has nothing to stop.
func (d Daemon) Stop(context.Context) error { return nil }

// Enter fails: rootless mode needs Linux.
func (d Daemon) Enter(context.Context, EnterOptions) error { return errLinuxOnly }

// NetDriver is "".
func (d Daemon) NetDriver() string { return "" }

// HookEnv is empty.
func (d Daemon) HookEnv() []string { return nil }

// ErrorAtEnter is nil.
func ErrorAtEnter() error { return nil }

// Child fails: rootless mode needs Linux.
func Child(string, string, string) error { return errLinuxOnly }
