//go:build !windows

package containers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securitySpecOpts turns --security-opt into spec options, and HostConfig's
// kernel settings with them (see hostSpecOpts). It is applied after
// --privileged: a privileged container gets no seccomp profile.
func securitySpecOpts(hc *HostConfig) ([]oci.SpecOpts, error) {
	so, err := parseSecurityOpts(hc)
	if err != nil {
		return nil, err
	}
	opts, err := hostSpecOpts(hc)
	if err != nil {
		return nil, err
	}
	if !hc.Privileged && so.seccomp != "unconfined" {
		opts = append(opts, withSeccompProfile(so.seccomp, so.profile, hc.CapAdd, hc.CapDrop))
	}
	// containerd's default spec sets no_new_privs; docker's leaves it off
	// unless asked, so that setuid programs work as they do there.
	if so.noNewPriv {
		opts = append(opts, oci.WithNoNewPrivileges)
	} else {
		opts = append(opts, oci.WithNewPrivileges)
	}
	if so.apparmor != "" {
		opts = append(opts, oci.WithApparmorProfile(so.apparmor))
	}
	if so.processLabel != "" {
		opts = append(opts, oci.WithSelinuxLabel(so.processLabel), func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			setResources(s)
			s.Linux.MountLabel = so.mountLabel
			return nil
		})
	}
	if so.systemPathsUnconfined {
		opts = append(opts, oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil))
	}
	return opts, nil
}

// CheckSecurityOpts checks hc's SecurityOpt as create would, so that a
// command line can refuse a bad one before anything is made. It reads a
// seccomp profile's file, and asks the kernel whether AppArmor and SELinux
// are on.
func CheckSecurityOpts(hc *HostConfig) error {
	_, err := parseSecurityOpts(hc)
	return err
}

// securityOpts are the parsed --security-opt values.
type securityOpts struct {
	noNewPriv             bool
	seccomp               string // "", "unconfined" or a profile's path
	profile               string // the profile's JSON, if seccomp names one
	apparmor              string // a profile to apply; "" for none
	processLabel          string // SELinux
	mountLabel            string
	systemPathsUnconfined bool
}

// parseSecurityOpts reads docker's security options: no-new-privileges[=B],
// seccomp=PROFILE.json|unconfined, apparmor=PROFILE|unconfined,
// label=disable|user:U|role:R|type:T|level:L|filetype:T and
// systempaths=unconfined; docker's older KEY:VALUE spelling too. The
// last of an option wins, as in docker.
func parseSecurityOpts(hc *HostConfig) (*securityOpts, error) {
	so := &securityOpts{}
	bad := func(o, why string) error {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad security option %q: %s", o, why))
	}
	var labels []string
	for _, o := range hc.SecurityOpt {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			k, v, ok = strings.Cut(o, ":")
		}
		switch {
		case k == "no-new-privileges":
			if !ok {
				so.noNewPriv = true
				break
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad(o, "want no-new-privileges, no-new-privileges=true or no-new-privileges=false")
			}
			so.noNewPriv = b
		case !ok:
			return nil, bad(o, "want no-new-privileges, seccomp=, apparmor=, label= or systempaths=")
		case k == "seccomp":
			so.seccomp, so.profile = v, ""
			if v == "unconfined" {
				break
			}
			if v == "" {
				return nil, bad(o, "want seccomp=unconfined or seccomp=PROFILE.json (a docker seccomp profile)")
			}
			if hc.Privileged {
				return nil, bad(o, "--privileged runs without seccomp, so a profile would not apply: drop one of them")
			}
			p, err := readSeccompProfile(v)
			if err != nil {
				return nil, err
			}
			so.profile = p
		case k == "apparmor":
			so.apparmor = ""
			switch {
			case v == "unconfined":
				// lepton loads no AppArmor profile of its own: unconfined is
				// what a container is already.
			case v == "" || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' }):
				return nil, bad(o, "want apparmor=PROFILE or apparmor=unconfined")
			case !apparmorEnabled():
				return nil, bad(o, "AppArmor is not enabled in this kernel (/sys/module/apparmor/parameters/enabled), so no profile can be applied; apparmor=unconfined is what the container gets")
			case !apparmorLoaded(v):
				return nil, bad(o, fmt.Sprintf("AppArmor has no profile %q loaded (see /sys/kernel/security/apparmor/profiles; load it with apparmor_parser)", v))
			default:
				so.apparmor = v
			}
		case k == "label":
			if v == "disable" {
				labels = nil // lepton labels nothing: disabling it is what there is
				break
			}
			lk, lv, _ := strings.Cut(v, ":")
			if !slices.Contains([]string{"user", "role", "type", "level", "filetype"}, lk) || lv == "" || strings.ContainsAny(lv, " \t\n") {
				return nil, bad(o, "want label=disable, or label=user:U, role:R, type:T, level:L or filetype:T")
			}
			if !selinuxEnabled() {
				return nil, bad(o, "SELinux is not enabled on this host (no /sys/fs/selinux), so there is no label to set; label=disable is accepted")
			}
			labels = append(labels, v)
		case k == "systempaths":
			if v != "unconfined" {
				return nil, bad(o, "want systempaths=unconfined")
			}
			so.systemPathsUnconfined = true
		default:
			return nil, bad(o, "want no-new-privileges, seccomp=, apparmor=, label= or systempaths=")
		}
	}
	if len(labels) > 0 {
		var err error
		if so.processLabel, so.mountLabel, err = selinuxLabels(labels); err != nil {
			return nil, err
		}
	}
	return so, nil
}

func apparmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(b)) == "Y"
}

// apparmorLoaded says whether AppArmor has the profile; true when the list
// cannot be read (securityfs not mounted), leaving it to runc.
func apparmorLoaded(name string) bool {
	f, err := os.Open("/sys/kernel/security/apparmor/profiles")
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+" (") {
			return true
		}
	}
	return false
}

func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// selinuxLabels makes the process and mount labels from the policy's
// container contexts (lxc_contexts: process and file), with the parts the
// options replace.
func selinuxLabels(opts []string) (process, mount string, err error) {
	policy := "targeted"
	if b, err := os.ReadFile("/etc/selinux/config"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SELINUXTYPE="); ok {
				policy = strings.TrimSpace(v)
			}
		}
	}
	path := filepath.Join("/etc/selinux", policy, "contexts", "lxc_contexts")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("SELinux labels need the policy's container contexts: %v", err))
	}
	ctx := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		parts := strings.SplitN(strings.Trim(strings.TrimSpace(v), `"`), ":", 4)
		if len(parts) == 4 {
			ctx[strings.TrimSpace(k)] = parts
		}
	}
	proc, file := ctx["process"], ctx["file"]
	if proc == nil || file == nil {
		return "", "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("%s has no process or file context", path))
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, ":")
		switch k {
		case "user":
			proc[0] = v
		case "role":
			proc[1] = v
		case "type":
			proc[2] = v
		case "level":
			proc[3], file[3] = v, v
		case "filetype":
			file[2] = v
		}
	}
	return strings.Join(proc, ":"), strings.Join(file, ":"), nil
}

// readSeccompProfile reads a docker seccomp profile and checks it, so that a
// bad one is refused before anything is made, with the file's name.
// moby/profiles/seccomp, which applies it (withSeccompProfile), decodes it
// leniently and leaves actions to runc; lepton refuses unknown fields (a
// misspelt "excludes" would otherwise widen the filter without a word),
// actions and operators up front.
func readSeccompProfile(path string) (string, error) {
	bad := func(format string, a ...any) error {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("seccomp profile %s: ", path) + fmt.Sprintf(format, a...))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", bad("%v", err)
	}
	// minKernel first, in lepton's words: the library's decoding refuses
	// "5.8.1" without saying which rule. Errors are the strict decode's.
	var kernels struct {
		Syscalls []struct{ Includes, Excludes struct{ MinKernel string } }
	}
	_ = json.Unmarshal(b, &kernels)
	for i, sc := range kernels.Syscalls {
		for _, k := range []string{sc.Includes.MinKernel, sc.Excludes.MinKernel} {
			maj, min, ok := strings.Cut(k, ".")
			_, err1 := strconv.ParseUint(maj, 10, 8)
			_, err2 := strconv.ParseUint(min, 10, 8)
			if k != "" && (!ok || err1 != nil || err2 != nil) {
				return "", bad("syscall rule %d: minKernel %q is not MAJOR.MINOR", i, k)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p seccomp.Seccomp
	if err := dec.Decode(&p); err != nil {
		return "", bad("not a docker seccomp profile: %v", err)
	}
	actions := []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}
	if !slices.Contains(actions, p.DefaultAction) {
		return "", bad("defaultAction %q is not one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, ...", p.DefaultAction)
	}
	arches := slices.Clone(p.Architectures)
	for _, a := range p.ArchMap {
		arches = append(append(arches, a.Arch), a.SubArches...)
	}
	for _, a := range arches {
		if !strings.HasPrefix(string(a), "SCMP_ARCH_") {
			return "", bad("architecture %q is not an SCMP_ARCH_ name", a)
		}
	}
	ops := []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
	for i, sc := range p.Syscalls {
		//lint:ignore SA1019 profiles may still say "name", which docker accepts
		named := sc.Name != ""
		switch {
		case named && len(sc.Names) > 0:
			return "", bad("syscall rule %d has both name and names", i)
		case !named && len(sc.Names) == 0:
			return "", bad("syscall rule %d names no syscall", i)
		case !slices.Contains(actions, sc.Action):
			return "", bad("syscall rule %d: action %q is not one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...", i, sc.Action)
		}
		for _, a := range sc.Args {
			if !slices.Contains(ops, a.Op) {
				return "", bad("syscall rule %d: operator %q is not one of SCMP_CMP_EQ, SCMP_CMP_NE, ...", i, a.Op)
			}
		}
	}
	// And whatever else the library refuses (architectures with archMap,
	// more than one JSON value), now rather than at create.
	if _, err := loadSeccomp(string(b), &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}); err != nil {
		return "", bad("%v", err)
	}
	return string(b), nil
}

// withSeccompProfile sets the seccomp filter: docker's default profile, or
// the profile read from path (body). moby/profiles/seccomp, docker's own
// code, makes the filter rather than a copy of its rules here: it applies
// archMap and each rule's includes and excludes (caps, arches, minKernel)
// as docker does, and its default profile is docker's, kept up to date with
// new syscalls. The caps its rules see are the container's final set (the
// spec's, with --cap-add and --cap-drop applied), although specOpts sets
// them after this runs.
func withSeccompProfile(path, body string, capAdd, capDrop []string) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		final := &oci.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
		if s.Process != nil && s.Process.Capabilities != nil {
			final.Process.Capabilities.Bounding = slices.Clone(s.Process.Capabilities.Bounding)
			final.Process.Capabilities.Effective = slices.Clone(s.Process.Capabilities.Effective)
			final.Process.Capabilities.Permitted = slices.Clone(s.Process.Capabilities.Permitted)
		}
		if err := withCaps(capAdd, capDrop)(ctx, cl, c, final); err != nil {
			return err
		}
		var sc *specs.LinuxSeccomp
		var err error
		if path == "" {
			sc, err = defaultSeccomp(final)
		} else if sc, err = loadSeccomp(body, final); err != nil {
			err = fmt.Errorf("seccomp profile %s: %w", path, err)
		}
		if err != nil {
			return err
		}
		setResources(s)
		s.Linux.Seccomp = sc
		return nil
	}
}
