//go:build !windows

package containers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specOpts turns the plan into OCI spec options, in order: the image's
// config first, then each of the user's overrides. Mounts come separately,
// once the volumes are locked.
func specOpts(p *Plan, img containerd.Image, hostname string, ic imageConfig, initPath string) ([]oci.SpecOpts, error) {
	cfg, hc := &p.Config, &p.HostConfig
	opts := []oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs(processArgs(cfg, ic)...)}
	if len(cfg.Env) > 0 {
		opts = append(opts, oci.WithEnv(cfg.Env))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	opts = append(opts, oci.WithHostname(hostname), withoutRlimits)
	if cfg.Domainname != "" {
		opts = append(opts, oci.WithDomainname(cfg.Domainname))
	}
	if hc.Init != nil && *hc.Init {
		opts = append(opts, withInit(initPath))
	}
	if cfg.Tty {
		opts = append(opts, oci.WithTTY)
	}
	if hc.NetworkMode == "host" {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	if hc.ReadonlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	sec, err := securitySpecOpts(hc)
	if err != nil {
		return nil, err
	}
	if hc.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	opts = append(opts, sec...)
	for _, c := range append(append([]string{}, hc.CapAdd...), hc.CapDrop...) {
		if !ValidCap(c) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("no such capability %q: want a name such as NET_ADMIN (or CAP_NET_ADMIN), or ALL", c))
		}
	}
	if len(hc.CapAdd)+len(hc.CapDrop) > 0 {
		opts = append(opts, withCaps(hc.CapAdd, hc.CapDrop))
	}
	if hc.Memory > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(hc.Memory)))
	}
	if hc.NanoCPUs > 0 {
		const period = 100000
		opts = append(opts, oci.WithCPUCFS(hc.NanoCPUs*period/1e9, period))
	}
	if hc.PidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(hc.PidsLimit))
	}
	res, err := hc.Resources.specOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, res...)
	rl, err := rootlessSpecOpts(hc)
	if err != nil {
		return nil, err
	}
	opts = append(opts, rl...)
	for _, s := range hc.Ulimits {
		u, err := units.ParseUlimit(s)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad ulimit %q: %v", s, err))
		}
		opts = append(opts, oci.WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: uint64(u.Soft), Hard: uint64(u.Hard)}))
	}
	return opts, nil
}

// withoutRlimits drops the rlimits of containerd's default spec: the
// container inherits the daemon's, and lepton never sets one unasked
// (hosts without CAP_SYS_RESOURCE refuse to raise them).
func withoutRlimits(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process != nil {
		s.Process.Rlimits = nil
	}
	return nil
}

// processArgs applies docker's rules: an Entrypoint replaces the image's
// entrypoint and drops its CMD; a Cmd replaces the image's CMD.
func processArgs(cfg *Config, ic imageConfig) []string {
	entry, cmd := ic.Entrypoint, ic.Cmd
	if cfg.Entrypoint != nil { // given, perhaps as "" to clear it
		entry = cfg.Entrypoint
		if len(entry) > 0 {
			cmd = nil
		}
	}
	if len(cfg.Cmd) > 0 {
		cmd = cfg.Cmd
	}
	return append(append([]string{}, entry...), cmd...)
}

// withCaps applies the dropped, then the added capabilities to every
// capability set, docker style: "ALL" drops or adds everything, so
// --cap-drop ALL --cap-add NET_BIND_SERVICE leaves exactly one.
func withCaps(add, drop []string) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		caps := s.Process.Capabilities
		sets := []*[]string{&caps.Bounding, &caps.Effective, &caps.Permitted}
		for _, d := range normCaps(drop) {
			for _, set := range sets {
				if d == "ALL" {
					*set = nil
					continue
				}
				*set = slices.DeleteFunc(*set, func(x string) bool { return x == d })
			}
		}
		for _, a := range normCaps(add) {
			if a == "ALL" {
				return oci.WithAllKnownCapabilities(ctx, cl, c, s)
			}
			for _, set := range sets {
				if !slices.Contains(*set, a) {
					*set = append(*set, a)
				}
			}
		}
		caps.Inheritable = nil
		return nil
	}
}

func normCaps(caps []string) []string {
	var out []string
	for _, c := range caps {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ValidCap says whether c is ALL or a capability the kernel knows, with or
// without CAP_, in any case. An unknown name would otherwise reach runc
// only at start, or be dropped without a word.
func ValidCap(c string) bool {
	n := normCaps([]string{c})[0]
	return n == "ALL" || slices.Contains(knownCaps, strings.TrimPrefix(n, "CAP_"))
}

// knownCaps are Linux's capabilities, in the kernel's order (0 to 40, as of
// Linux 5.9).
var knownCaps = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}
