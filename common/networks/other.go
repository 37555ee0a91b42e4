//go:build !linux

package networks

import (
	"context"
	"net/netip"

	"github.com/lepton-project/lepton/common/check"

	"github.com/containerd/errdefs"
)

// Bridge networks are made of Linux's netlink and nftables; elsewhere
// lepton is a client only and every host-side step says so.

var errLinuxOnly = errdefs.ErrNotImplemented.WithMessage("bridge networks need Linux")

func hostLocked(fn func() error) error                    { return fn() }
func setUpHost(*Network) error                            { return errLinuxOnly }
func ensureHost(*Network) error                           { return errLinuxOnly }
func tearDownHost(*Network) error                         { return nil }
func hostPrefixes() ([]takenPrefix, error)                { return nil, nil }
func deleteLink(string)                                   {}
func checkForwards(context.Context, *check.Report) error  { return nil }
func deletePortRules(string) error                        { return nil }
func openNetns(int) (int, error)                          { return -1, errLinuxOnly }
func closeFd(int)                                         {}
func freeIfname(int) (string, error)                      { return "", errLinuxOnly }
func writeHosts(string, func() string) error              { return errLinuxOnly }
func publishPorts(string, string, []Port) ([]Port, error) { return nil, errLinuxOnly }
func addVeth(*Network, string, int, string, string, netip.Prefix, bool) (string, error) {
	return "", errLinuxOnly
}

// CheckPorts says whether ports could be published now.
func CheckPorts([]Port) error { return errLinuxOnly }

// RuleOwners lists the owners of lepton's nftables rules.
func RuleOwners() ([]string, error) { return nil, errLinuxOnly }
