//go:build linux

package containers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securitySpec makes a container's spec from hc's security options, in
// specOpts' order: --privileged, the security options, then the caps.
func securitySpec(tb testing.TB, hc *HostConfig) *oci.Spec {
	tb.Helper()
	sec, err := securitySpecOpts(hc)
	if err != nil {
		tb.Fatal(err)
	}
	var opts []oci.SpecOpts
	if hc.Privileged {
		opts = append(opts, oci.WithPrivileged)
	}
	opts = append(opts, sec...)
	if len(hc.CapAdd)+len(hc.CapDrop) > 0 {
		opts = append(opts, withCaps(hc.CapAdd, hc.CapDrop))
	}
	ctx := namespaces.WithNamespace(context.Background(), "lepton-test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "t"}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// allows says whether the filter lets name through unconditionally.
func allows(sc *specs.LinuxSeccomp, name string) bool {
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

func TestSeccompDefaultFollowsCaps(t *testing.T) {
	s := securitySpec(t, &HostConfig{})
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno {
		t.Fatalf("default: seccomp %+v, want docker's default profile", s.Linux.Seccomp)
	}
	if allows(s.Linux.Seccomp, "mount") || !allows(s.Linux.Seccomp, "read") {
		t.Error("default: want read allowed and mount refused")
	}
	if s := securitySpec(t, &HostConfig{CapAdd: []string{"SYS_ADMIN"}}); !allows(s.Linux.Seccomp, "mount") {
		t.Error("--cap-add SYS_ADMIN: mount refused, want it allowed")
	}
	if s := securitySpec(t, &HostConfig{CapAdd: []string{"ALL"}}); !allows(s.Linux.Seccomp, "mount") {
		t.Error("--cap-add ALL: mount refused, want it allowed")
	}
	if s := securitySpec(t, &HostConfig{CapDrop: []string{"ALL"}, CapAdd: []string{"SYS_ADMIN"}}); !allows(s.Linux.Seccomp, "mount") {
		t.Error("--cap-drop ALL --cap-add SYS_ADMIN: mount refused, want it allowed")
	}
	for _, hc := range []*HostConfig{{Privileged: true}, {SecurityOpt: []string{"seccomp=unconfined"}}, {SecurityOpt: []string{"seccomp:unconfined"}}} {
		if s := securitySpec(t, hc); s.Linux.Seccomp != nil {
			t.Errorf("%+v: seccomp %+v, want none", hc, s.Linux.Seccomp)
		}
	}
}

func TestSeccompProfileFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	body := `{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]},
		{"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_SYS_ADMIN"]}},
		{"name":"chmod","action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"3.0"}},
		{"name":"rmdir","action":"SCMP_ACT_ERRNO","includes":{"minKernel":"99.0"}}]}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	names := func(sc *specs.LinuxSeccomp) []string {
		var n []string
		for _, r := range sc.Syscalls {
			n = append(n, r.Names...)
		}
		return n
	}
	s := securitySpec(t, &HostConfig{SecurityOpt: []string{"seccomp=" + path}})
	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActAllow || !slices.Equal(names(sc), []string{"mkdir", "mkdirat"}) {
		t.Fatalf("profile: seccomp %+v, want mkdir and mkdirat refused", sc)
	}
	if len(sc.Architectures) != 2 {
		t.Errorf("profile: architectures %v, want this machine's and its sub-architecture", sc.Architectures)
	}
	s = securitySpec(t, &HostConfig{SecurityOpt: []string{"seccomp=" + path}, CapAdd: []string{"SYS_ADMIN"}})
	if got := names(s.Linux.Seccomp); !slices.Equal(got, []string{"chmod"}) {
		t.Errorf("profile with --cap-add SYS_ADMIN: rules for %v, want chmod only", got)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"defaultAction":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := securitySpecOpts(&HostConfig{SecurityOpt: []string{"seccomp=" + bad}}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad JSON: %v, want an error naming %s", err, bad)
	}
}

// BenchmarkSecuritySpec times what the security options add to a default
// container's start: securitySpecOpts and the spec they make.
func BenchmarkSecuritySpec(b *testing.B) {
	hc := &HostConfig{}
	for b.Loop() {
		securitySpec(b, hc)
	}
}
