//go:build !windows

package system

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/rootless"
)

type infoCmd struct {
	cli.Command
	Format string `short:"f" long:"format" value-name:"<FORMAT>" description:"\"json\" or a Go template ({{.ServerVersion}})"`
}

// Info is what info shows, under docker's field names where the field
// means the same here: a script's `--format '{{.ServerVersion}}'` or
// `jq .CgroupVersion` reads lepton as it reads docker.
type Info struct {
	ID                string // containerd's UUID
	Name              string // the host name
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	ServerVersion     string // containerd's version
	Driver            string // the snapshotter
	DriverStatus      [][2]string
	LoggingDriver     string
	CgroupDriver      string
	CgroupVersion     string
	KernelVersion     string
	OperatingSystem   string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	DockerRootDir     string // lepton's data root
	ContainerdAddress string
	Namespace         string
	Runtimes          map[string]Runtime
	DefaultRuntime    string
	SecurityOptions   []string
	Registries        []Registry
	Rootless          *RootlessInfo `json:",omitempty"` // nil as root
	Warnings          []string
	ClientInfo        struct{ Version, GoVersion string }
}

// Runtime is a runtime containers may run with.
type Runtime struct {
	Path string `json:"path"` // the containerd shim
	Bin  string `json:"runc"` // the OCI runtime binary it runs
}

// RootlessInfo is how the rootless daemon is set up: rootlesskit's
// network and port drivers, and whether containers get cgroups.
type RootlessInfo struct {
	Dir           string // the daemon's run directory
	NetworkDriver string // slirp4netns
	PortDriver    string // builtin
	Cgroups       string // the containers' cgroup parent; "" for none (limits refused)
}

// Registry is one registry host configured in the hosts directory.
type Registry struct {
	Name     string   // the directory name: a host[:port], or _default
	Server   string   // hosts.toml's server, if any
	Mirrors  []string // its [host."..."] entries, sorted
	Insecure bool     // plain http or skip_verify somewhere
}

// run gathers the figures from containerd and the host. An unreachable
// containerd is exit 1: a script calls info first to know an engine is
// there.
func (c *infoCmd) run(ctx context.Context, env *cli.Env, g *cli.Globals) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, err := g.Client(cctx)
	if err != nil {
		return &cli.ExitError{Code: 1, Err: err}
	}
	defer client.Close()
	sv, err := client.Version(cctx)
	if err != nil {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("containerd at %s does not answer: %w (is it running? install.sh starts it)", g.Address, err)}
	}
	in := Info{
		ServerVersion: sv.Version, Driver: defaults.DefaultSnapshotter, LoggingDriver: "json-file",
		CgroupDriver: "cgroupfs", OSType: runtime.GOOS, NCPU: runtime.NumCPU(),
		DockerRootDir: g.DataRoot, ContainerdAddress: g.Address, Namespace: g.Namespace,
		DefaultRuntime: "runc", Runtimes: map[string]Runtime{"runc": {Path: defaults.DefaultRuntime, Bin: lookPath("runc")}},
	}
	in.ClientInfo.Version, in.ClientInfo.GoVersion = cli.ClientVersion(), runtime.Version()
	if srv, err := client.IntrospectionService().Server(cctx); err == nil {
		in.ID = srv.UUID
	}
	in.Name, _ = os.Hostname()
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		in.KernelVersion = unix.ByteSliceToString(uts.Release[:])
		in.Architecture = unix.ByteSliceToString(uts.Machine[:])
	}
	in.OperatingSystem = osName()
	in.MemTotal = memTotal()
	in.CgroupVersion = cgroupVersion()
	in.SecurityOptions = securityOptions(in.CgroupVersion)
	in.DriverStatus = [][2]string{{"Snapshotter", in.Driver}}
	if d, ok := rootless.Current(); ok {
		in.Rootless = &RootlessInfo{Dir: d.Dir, NetworkDriver: d.NetDriver(), PortDriver: "builtin", Cgroups: d.CgroupParent()}
		// As docker's rootless mode shows it.
		in.SecurityOptions = append(in.SecurityOptions, "name=rootless")
		if in.Rootless.Cgroups == "" {
			in.CgroupDriver = "none"
			in.Warnings = append(in.Warnings, "Running in rootless mode without cgroups: --memory, --cpus and the other limits are refused, and pause is unavailable. To use them, use cgroup v2 with systemd and run install.sh --rootless.")
		}
	}

	all, err := client.ContainerService().List(cctx)
	if err != nil {
		return err
	}
	state, err := containers.TaskStatuses(cctx, client)
	if err != nil {
		return err
	}
	for _, info := range all {
		if containers.IsBuildStep(info) {
			continue
		}
		in.Containers++
		switch state[info.ID] {
		case tasktypes.Status_RUNNING:
			in.ContainersRunning++
		case tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
			in.ContainersPaused++
		default:
			in.ContainersStopped++
		}
	}
	imgs, err := client.ImageService().List(cctx)
	if err != nil {
		return err
	}
	targets := map[string]bool{}
	for _, img := range imgs {
		targets[img.Target.Digest.String()] = true
	}
	in.Images = len(targets)
	var regWarnings []string
	in.Registries, regWarnings = registries(g.HostsDir)
	in.Warnings = append(in.Warnings, regWarnings...)

	switch c.Format {
	case "":
		printInfo(env.Stdout, &in)
		return nil
	case "json":
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	default:
		return cli.Print(env.Stdout, c.Format, cli.Table{}, []Info{in})
	}
}

func printInfo(w io.Writer, in *Info) {
	fmt.Fprintf(w, "Client: lepton\n Version:    %s\n Go version: %s\n\n", in.ClientInfo.Version, in.ClientInfo.GoVersion)
	fmt.Fprintf(w, "Server: containerd\n Containers: %d\n  Running: %d\n  Paused: %d\n  Stopped: %d\n Images: %d\n",
		in.Containers, in.ContainersRunning, in.ContainersPaused, in.ContainersStopped, in.Images)
	fmt.Fprintf(w, " Server Version: %s\n Storage Driver: %s\n Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n",
		in.ServerVersion, in.Driver, in.LoggingDriver, in.CgroupDriver, in.CgroupVersion)
	var rts []string
	for n := range in.Runtimes {
		rts = append(rts, n)
	}
	sort.Strings(rts)
	fmt.Fprintf(w, " Runtimes: %s\n Default Runtime: %s\n", strings.Join(rts, " "), in.DefaultRuntime)
	if len(in.SecurityOptions) > 0 {
		fmt.Fprintln(w, " Security Options:")
		for _, o := range in.SecurityOptions {
			name, rest, _ := strings.Cut(strings.TrimPrefix(o, "name="), ",")
			fmt.Fprintf(w, "  %s\n", name)
			if p, ok := strings.CutPrefix(rest, "profile="); ok {
				fmt.Fprintf(w, "   Profile: %s\n", p)
			}
		}
	}
	fmt.Fprintf(w, " Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n CPUs: %d\n Total Memory: %s\n Name: %s\n ID: %s\n",
		in.KernelVersion, in.OperatingSystem, in.OSType, in.Architecture, in.NCPU, gib(in.MemTotal), in.Name, in.ID)
	fmt.Fprintf(w, " Docker Root Dir: %s\n Containerd Address: %s\n Namespace: %s\n", in.DockerRootDir, in.ContainerdAddress, in.Namespace)
	if r := in.Rootless; r != nil {
		cg := r.Cgroups
		if cg == "" {
			cg = "none"
		}
		fmt.Fprintf(w, " Rootless: yes\n  Network Driver: %s\n  Port Driver: %s\n  Cgroups: %s\n  Daemon Directory: %s\n", r.NetworkDriver, r.PortDriver, cg, r.Dir)
	}
	if len(in.Registries) > 0 {
		fmt.Fprintln(w, " Registries:")
		for _, r := range in.Registries {
			line := "  " + r.Name
			if r.Server != "" {
				line += " (server " + r.Server + ")"
			}
			if r.Insecure {
				line += " insecure"
			}
			fmt.Fprintln(w, line)
			for _, m := range r.Mirrors {
				fmt.Fprintf(w, "   Mirror: %s\n", m)
			}
		}
	}
	for _, warn := range in.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
}

func gib(n int64) string { return fmt.Sprintf("%.2fGiB", float64(n)/(1<<30)) }

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return name + " (not found on PATH)"
	}
	return p
}

// osName is /etc/os-release's PRETTY_NAME, as docker shows it.
func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return runtime.GOOS
}

// securityOptions are docker's names for what confines containers here:
// seccomp when the kernel has it (lepton applies its default profile),
// apparmor when it is enabled, cgroupns on cgroup v2 (private cgroup
// namespaces by default), rootless when not root.
func securityOptions(cgroupVersion string) []string {
	var out []string
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
		out = append(out, "name=apparmor")
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil && strings.Contains(string(b), "\nSeccomp:") {
		out = append(out, "name=seccomp,profile=builtin")
	}
	if os.Geteuid() != 0 {
		out = append(out, "name=rootless")
	}
	if cgroupVersion == "2" {
		out = append(out, "name=cgroupns")
	}
	return out
}

// registries reads the hosts directory: one subdirectory per registry
// host, each with an optional hosts.toml. A file that does not parse is a
// warning, not a failure: pulls from that host would say the same.
func registries(dir string) ([]Registry, []string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil
	}
	var out []Registry
	var warnings []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		r := Registry{Name: e.Name()}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "hosts.toml"))
		if err == nil {
			var doc struct {
				Server     string `toml:"server"`
				SkipVerify bool   `toml:"skip_verify"`
			}
			var hosts struct {
				Host map[string]struct {
					SkipVerify bool `toml:"skip_verify"`
				} `toml:"host"`
			}
			if err := toml.Unmarshal(b, &doc); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %v", filepath.Join(dir, e.Name(), "hosts.toml"), err))
			} else {
				toml.Unmarshal(b, &hosts)
				r.Server, r.Insecure = doc.Server, doc.SkipVerify || strings.HasPrefix(doc.Server, "http://")
				for h, o := range hosts.Host {
					r.Mirrors = append(r.Mirrors, h)
					r.Insecure = r.Insecure || o.SkipVerify || strings.HasPrefix(h, "http://")
				}
				sort.Strings(r.Mirrors)
			}
		}
		out = append(out, r)
	}
	return out, warnings
}
