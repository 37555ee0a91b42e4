//go:build !windows

package run

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode"

	units "github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/networks"
)

// createFlags are the options of both create and run, with docker's names.
type createFlags struct {
	Name        string   `long:"name" value-name:"<NAME>" description:"Name the container (default: a random one)"`
	Env         []string `short:"e" long:"env" value-name:"<KEY=VALUE>" description:"Set an environment variable; KEY alone passes lepton's own value"`
	EnvFile     []string `long:"env-file" value-name:"<FILE>" description:"Read environment variables from a file, one KEY=VALUE a line"`
	Workdir     string   `short:"w" long:"workdir" value-name:"<DIR>" description:"Working directory inside the container"`
	User        string   `short:"u" long:"user" value-name:"<USER[:GROUP]>" description:"User (name or UID) to run as"`
	Entrypoint  *string  `long:"entrypoint" value-name:"<CMD>" description:"Override the image's entrypoint (\"\" clears it)"`
	Hostname    string   `short:"h" long:"hostname" value-name:"<NAME>" description:"Container host name (default: the short ID)"`
	Labels      []string `short:"l" long:"label" value-name:"<KEY=VALUE>" description:"Set a label"`
	LabelFiles  []string `long:"label-file" value-name:"<FILE>" description:"Read labels from a file, one KEY=VALUE a line"`
	Volumes     []string `short:"v" long:"volume" value-name:"<SRC:DST[:ro]>" description:"Bind a host path or a named volume (created if missing); DST alone makes an anonymous volume"`
	Mounts      []string `long:"mount" value-name:"<type=...,src=...,dst=...>" description:"Mount a bind, volume or tmpfs"`
	Tmpfs       []string `long:"tmpfs" value-name:"<DST[:OPTS]>" description:"Mount a tmpfs"`
	ReadOnly    bool     `long:"read-only" description:"Mount the root filesystem read-only"`
	Rm          bool     `long:"rm" description:"Remove the container when it exits"`
	Restart     string   `long:"restart" value-name:"<POLICY>" default:"no" description:"Restart policy: no, always, on-failure[:N], unless-stopped"`
	CPUs        string   `long:"cpus" value-name:"<N>" description:"CPUs the container may use (e.g. 1.5)"`
	Memory      string   `short:"m" long:"memory" value-name:"<BYTES>" description:"Memory limit (e.g. 256m)"`
	PidsLimit   int64    `long:"pids-limit" value-name:"<N>" description:"Process limit"`
	CapAdd      []string `long:"cap-add" value-name:"<CAP>" description:"Add a capability"`
	CapDrop     []string `long:"cap-drop" value-name:"<CAP>" description:"Drop a capability (ALL for all)"`
	Privileged  bool     `long:"privileged" description:"Give the container all capabilities and devices"`
	SecurityOpt []string `long:"security-opt" value-name:"<OPT>" description:"Security option: no-new-privileges or seccomp=unconfined"`
	StopSignal  string   `long:"stop-signal" value-name:"<SIGNAL>" description:"Signal stop sends first (default SIGTERM)"`
	StopTimeout string   `long:"stop-timeout" value-name:"<SECONDS>" description:"Seconds stop waits before SIGKILL (default 10)"`
	AddHost     []string `long:"add-host" value-name:"<HOST:IP>" description:"Add a line to /etc/hosts"`
	DNS         []string `long:"dns" value-name:"<IP>" description:"Name server for /etc/resolv.conf"`
	Network     string   `long:"network" value-name:"<NETWORK>" description:"Network: bridge (the default network), a network's name, none (only loopback) or host"`
	IP          string   `long:"ip" value-name:"<IP>" description:"Address on a user-defined network (default: a free one)"`
	Publish     []string `short:"p" long:"publish" value-name:"<[IP:][HOST_PORT:]PORT[/PROTO]>" description:"Publish a container port on the host; without HOST_PORT a free one is taken"`
	PublishAll  bool     `short:"P" long:"publish-all" description:"Publish every port the image exposes, each on a free host port"`
	Alias       []string `long:"network-alias" value-name:"<NAME>" description:"Another name the container answers to on a user-defined network"`
	CIDFile     string   `long:"cidfile" value-name:"<FILE>" description:"Write the container ID to a file"`
	Ulimit      []string `long:"ulimit" value-name:"<NAME=SOFT[:HARD]>" description:"Set a resource limit (only when asked: raising one needs CAP_SYS_RESOURCE)"`
	Pull        string   `long:"pull" value-name:"<WHEN>" default:"missing" description:"Pull the image: missing, always or never"`
	Platform    string   `long:"platform" value-name:"<OS/ARCH>" description:"Platform of the image to pull (default: this machine's)"`
	Interactive bool     `short:"i" long:"interactive" description:"Keep standard input open"`
	TTY         bool     `short:"t" long:"tty" description:"Allocate a terminal"`
	Quiet       bool     `short:"q" long:"quiet" description:"Pull the image without printing progress"`
	resourceFlags
	moreFlags
	logFlags
	nsFlags
	healthFlags
}

// quiet is the lifecycle option of -q: no pull progress.
func (f *createFlags) quiet() []containers.Option {
	if f.Quiet {
		return []containers.Option{containers.WithProgress(io.Discard, false)}
	}
	return nil
}

// parsePlan checks every create option without touching anything.
func parsePlan(env *cli.Env, f *createFlags, image string, cmd []string) (*containers.Plan, error) {
	p := &containers.Plan{}
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:] // docker's separator before the command
	}
	var environ []string
	labels := map[string]string{}
	for _, file := range f.EnvFile {
		kvs, err := readKVFile(file, "--env-file")
		if err != nil {
			return nil, err
		}
		environ = append(environ, cli.ExpandEnv(env, kvs)...)
	}
	environ = append(environ, cli.ExpandEnv(env, f.Env)...)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return nil, cli.Usagef("bad environment variable %q: the name is empty", kv)
		}
	}
	for _, file := range f.LabelFiles {
		kvs, err := readKVFile(file, "--label-file")
		if err != nil {
			return nil, err
		}
		if err := addLabels(labels, kvs); err != nil {
			return nil, err
		}
	}
	if err := addLabels(labels, f.Labels); err != nil {
		return nil, err
	}
	var err error
	for _, v := range f.Volumes {
		m, err := parseVolumeFlag(v)
		if err == nil && m.Type == "bind" && !filepath.IsAbs(m.Source) {
			// docker 23+ reads ./dir and ../dir from the working directory.
			m.Source, err = filepath.Abs(m.Source)
		}
		if err != nil {
			return nil, err
		}
		p.Mounts = append(p.Mounts, m)
	}
	for _, v := range f.Mounts {
		m, err := parseMountFlag(v)
		if err != nil {
			return nil, err
		}
		p.Mounts = append(p.Mounts, m)
	}
	tmpfs := map[string]string{}
	for _, v := range f.Tmpfs {
		dst, opts, _ := strings.Cut(v, ":")
		if !filepath.IsAbs(dst) {
			return nil, cli.Usagef("--tmpfs %q: the path must be absolute", v)
		}
		m := containers.Mount{Type: "tmpfs", Target: dst, Options: containers.TmpfsOptions(strings.Split(opts, ","))}
		tmpfs[dst] = opts
		p.Mounts = append(p.Mounts, m)
	}
	seen := map[string]bool{}
	for _, m := range p.Mounts {
		if seen[m.Target] {
			return nil, cli.Usagef("two mounts at %s", m.Target)
		}
		seen[m.Target] = true
	}
	var memory int64
	var cpus float64
	if f.Memory != "" {
		if memory, err = units.RAMInBytes(f.Memory); err != nil || memory <= 0 {
			return nil, cli.Usagef("bad --memory %q: want a size such as 256m or 1g", f.Memory)
		}
	}
	if f.CPUs != "" {
		if cpus, err = parseCPUs(f.CPUs, runtime.NumCPU()); err != nil {
			return nil, err
		}
	}
	for _, c := range f.CapAdd {
		if err := checkCap("--cap-add", c); err != nil {
			return nil, err
		}
	}
	for _, c := range f.CapDrop {
		if err := checkCap("--cap-drop", c); err != nil {
			return nil, err
		}
	}
	if f.PidsLimit < 0 && f.PidsLimit != -1 {
		return nil, cli.Usagef("bad --pids-limit %d", f.PidsLimit)
	}
	restart, err := parseRestart(f.Restart)
	if err != nil {
		return nil, err
	}
	if restart.Restarts() && f.Rm {
		return nil, cli.Usagef("--restart %s and --rm contradict each other: a container removed on exit cannot be restarted", f.Restart)
	}
	for _, u := range f.Ulimit {
		if _, err := units.ParseUlimit(u); err != nil {
			return nil, cli.Usagef("bad --ulimit %q: %v", u, err)
		}
	}
	if f.Net != "" { // --net is --network's old name
		f.netMerged = f.Network
		if f.Network == "" {
			f.Network = f.Net
		}
	}
	if len(f.NetAlias) > 0 { // --net-alias is --network-alias's old name
		f.Alias, f.NetAlias = append(f.Alias, f.NetAlias...), nil
	}
	portBindings, err := parseNetwork(p, f)
	if err != nil {
		return nil, err
	}
	for i, h := range f.AddHost {
		// docker takes HOST:IP and, since 25, HOST=IP.
		host, ip, ok := strings.Cut(h, "=")
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if _, err := netip.ParseAddr(ip); !ok || host == "" || strings.ContainsFunc(host, unicode.IsSpace) || err != nil && ip != containers.HostGateway {
			return nil, cli.Usagef("bad --add-host %q: want HOST:IP, such as db:10.0.0.5, or HOST:host-gateway", h)
		}
		f.AddHost[i] = host + ":" + ip
	}
	for _, ns := range f.DNS {
		// It goes into resolv.conf as it is: anything but an address would
		// leave the container without names, or add lines of its own.
		if _, err := netip.ParseAddr(ns); err != nil {
			return nil, cli.Usagef("bad --dns %q: want a name server's IP address, such as 10.0.0.2", ns)
		}
	}
	if f.StopSignal != "" {
		if _, err := parseSignal(f.StopSignal); err != nil {
			return nil, err
		}
	}
	var stopTimeout *int
	if f.StopTimeout != "" {
		n, err := strconv.Atoi(f.StopTimeout)
		if err != nil || n < -1 {
			return nil, cli.Usagef("bad --stop-timeout %q: want whole seconds", f.StopTimeout)
		}
		stopTimeout = &n
	}
	switch f.Pull {
	case "missing", "always", "never":
	default:
		return nil, cli.Usagef("bad --pull %q: want missing, always or never", f.Pull)
	}
	if f.Name != "" {
		if err := validName(f.Name); err != nil {
			return nil, err
		}
	}
	p.Config = containers.Config{
		Name: strings.TrimPrefix(f.Name, "/"), Image: image, Cmd: cmd, Env: environ, Labels: labels,
		WorkingDir: f.Workdir, User: f.User, Hostname: f.Hostname, Tty: f.TTY, OpenStdin: f.Interactive,
		StopSignal: f.StopSignal, StopTimeout: stopTimeout, Pull: f.Pull, Platform: f.Platform,
		HostConfig: containers.HostConfig{
			Binds: f.Volumes, Tmpfs: tmpfs, AutoRemove: f.Rm, NetworkMode: f.Network, ReadonlyRootfs: f.ReadOnly,
			PortBindings: portBindings, PublishAllPorts: f.PublishAll,
			Privileged: f.Privileged, CapAdd: f.CapAdd, CapDrop: f.CapDrop, SecurityOpt: f.SecurityOpt,
			RestartPolicy: restart, ExtraHosts: f.AddHost, DNS: f.DNS, Memory: memory,
			NanoCPUs: int64(cpus * 1e9), PidsLimit: f.PidsLimit, Ulimits: f.Ulimit,
		},
	}
	switch {
	case f.Entrypoint == nil:
	case *f.Entrypoint == "":
		p.Entrypoint = []string{} // cleared: the image's CMD alone runs
	default:
		p.Entrypoint = []string{*f.Entrypoint}
	}
	for _, plan := range []func(*containers.Plan) error{f.resourceFlags.plan, f.moreFlags.plan, f.logFlags.plan, f.nsFlags.plan, f.healthFlags.plan} {
		if err := plan(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// parseNetwork checks --network, --ip, -p, -P and --network-alias, and
// plans the container's network (nothing, for none and host). It sets
// f.Network to the mode stored with the container.
func parseNetwork(p *containers.Plan, f *createFlags) (map[string][]containers.PortBinding, error) {
	switch mode := f.Network; {
	case mode == "" || mode == "default":
		f.Network = networks.DefaultName
	case mode == "none" || mode == "host":
		switch {
		case len(f.Publish) > 0 || f.PublishAll:
			return nil, cli.Usagef("-p and -P need a bridge network: with --network %s there is nothing to publish on (drop --network %s, or -p)", mode, mode)
		case f.IP != "" || len(f.Alias) > 0:
			return nil, cli.Usagef("--ip and --network-alias need a bridge network, not --network %s", mode)
		}
		return nil, nil
	case strings.HasPrefix(mode, "container:"):
		return nil, checkContainerNetwork(f) // no network of its own: the other container's
	default:
		if err := networks.ValidName(mode); err != nil {
			return nil, err
		}
	}
	if f.Network == networks.DefaultName && (f.IP != "" || len(f.Alias) > 0) {
		return nil, cli.Usagef("--ip and --network-alias work on user-defined networks only, as in docker: lepton network create NET, then --network NET")
	}
	if f.IP != "" {
		if err := networks.ParseIP(f.IP); err != nil {
			return nil, err
		}
	}
	p.Network = &networks.Plan{Networks: []networks.Attachment{{Network: f.Network, IP: f.IP, Aliases: f.Alias}}}
	bindings := map[string][]containers.PortBinding{}
	for _, spec := range f.Publish {
		ports, err := networks.ParsePublish(spec)
		if err != nil {
			return nil, err
		}
		for _, pt := range ports {
			p.Network.Ports = append(p.Network.Ports, pt)
			k := fmt.Sprintf("%d/%s", pt.ContainerPort, pt.Proto)
			hp := ""
			if pt.HostPort != 0 {
				hp = strconv.Itoa(pt.HostPort)
			}
			bindings[k] = append(bindings[k], containers.PortBinding{HostIP: pt.HostIP, HostPort: hp})
		}
	}
	if len(bindings) == 0 {
		bindings = nil
	}
	return bindings, nil
}

// validName applies docker's rule for container names (a leading "/" is
// allowed and dropped), which is also what the store accepts as a key.
func validName(name string) error {
	n := strings.TrimPrefix(name, "/")
	if len(n) < 2 || !(isAlnum(n[0])) || strings.IndexFunc(n, func(r rune) bool {
		return !(r < 128 && (isAlnum(byte(r)) || r == '_' || r == '.' || r == '-'))
	}) >= 0 || len(n) > 128 {
		return cli.Usagef("invalid container name %q: use 2 to 128 of [a-zA-Z0-9_.-], starting with a letter or digit", name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// readKVFile reads an --env-file or --label-file: KEY=VALUE or KEY lines,
// # comments and blank lines skipped; anything else names its line.
func readKVFile(path, flag string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cli.Usagef("%s: %v", flag, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, cli.Usagef("%s %s line %d: %q is not KEY=VALUE", flag, path, n, line)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

func addLabels(m map[string]string, kvs []string) error {
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return cli.Usagef("bad label %q: the key is empty", kv)
		}
		if containers.ReservedLabel(k) {
			return cli.Usagef("label %q: keys under lepton/, lepton.volume/ and containerd.io/ are lepton's own", k)
		}
		m[k] = v
	}
	return nil
}

func parseVolumeFlag(v string) (containers.Mount, error) {
	parts := strings.Split(v, ":")
	m := containers.Mount{CreateSource: true}
	switch len(parts) {
	case 1:
		if v == "" {
			return m, cli.Usagef(`-v "": empty; want SRC:DST[:ro], or DST alone for an anonymous volume`)
		}
		m.Target = parts[0]
	case 2, 3:
		m.Source, m.Target = parts[0], parts[1]
		if m.Source == "" {
			// Read as an anonymous volume this would be a typo's silent
			// success: docker refuses it too.
			return m, cli.Usagef("-v %q: the source is empty; give a host path or a volume name, or DST alone for an anonymous volume", v)
		}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.ReadOnly = true
				case "nocopy":
					m.NoCopy = true
				case "rw", "z", "Z", "rprivate", "private", "rslave", "slave", "rshared", "shared":
				default:
					return m, cli.Usagef("-v %q: unknown option %q (want ro or rw)", v, o)
				}
			}
		}
	default:
		return m, cli.Usagef("-v %q: want SRC:DST[:ro]", v)
	}
	if !filepath.IsAbs(m.Target) {
		return m, cli.Usagef("-v %q: the container path %q must be absolute", v, m.Target)
	}
	switch {
	case m.Source == "":
		m.Type = "volume"
	case filepath.IsAbs(m.Source), m.Source == ".", m.Source == "..", strings.HasPrefix(m.Source, "./"), strings.HasPrefix(m.Source, "../"):
		m.Type = "bind"
	case strings.Contains(m.Source, "/") || strings.HasPrefix(m.Source, "."):
		return m, cli.Usagef("-v %q: a host path must be absolute or start with ./ or ../; a volume name may not hold '/'", v)
	default:
		m.Type = "volume"
	}
	return m, nil
}

func parseMountFlag(v string) (containers.Mount, error) {
	m := containers.Mount{Type: "volume"}
	for _, field := range strings.Split(v, ",") {
		k, val, hasVal := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			m.Type = val
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly = !hasVal || val == "true" || val == "1"
		case "volume-nocopy":
			m.NoCopy = !hasVal || val == "true" || val == "1"
		case "tmpfs-size":
			m.Options = append(m.Options, "size="+val)
		case "tmpfs-mode":
			m.Options = append(m.Options, "mode="+val)
		default:
			return m, cli.Usagef("--mount %q: unknown field %q", v, k)
		}
	}
	if !filepath.IsAbs(m.Target) {
		return m, cli.Usagef("--mount %q: target must be an absolute path", v)
	}
	switch m.Type {
	case "bind":
		if m.Source == "" {
			return m, cli.Usagef("--mount %q: a bind needs a source", v)
		}
		// docker 23+ reads a relative source from the working directory.
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return m, err
		}
		m.Source = abs
	case "volume":
		if strings.Contains(m.Source, "/") {
			return m, cli.Usagef("--mount %q: a volume name may not hold '/'", v)
		}
	case "tmpfs":
		if m.Source != "" {
			return m, cli.Usagef("--mount %q: a tmpfs has no source", v)
		}
		m.Options = containers.TmpfsOptions(m.Options)
	default:
		return m, cli.Usagef("--mount %q: type must be bind, volume or tmpfs", v)
	}
	return m, nil
}

// parseCPUs checks --cpus as docker does: from 0.01 (the kernel's
// smallest CFS quota, 1ms in each 100ms) to the CPUs there are. NaN and
// Inf parse as floats but are no number of CPUs.
func parseCPUs(s string, have int) (float64, error) {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, cli.Usagef("bad --cpus %q: want a number of CPUs, such as 0.5 or 2", s)
	}
	if n < 0.01 || n > float64(have) {
		return 0, cli.Usagef("bad --cpus %q: the range is 0.01 to %d, as this machine has %d CPUs", s, have, have)
	}
	return n, nil
}

// checkCap rejects a capability name at once that runc would refuse only
// at start, or drop without a word.
func checkCap(flag, c string) error {
	if containers.ValidCap(c) {
		return nil
	}
	return cli.Usagef("bad %s %q: no such capability; want a name such as NET_ADMIN (or CAP_NET_ADMIN), or ALL", flag, c)
}

func parseRestart(s string) (containers.RestartPolicy, error) {
	p, err := containers.ParseRestartPolicy(s)
	if err != nil {
		return p, cli.Usagef("bad --restart %q: %v", s, err)
	}
	return p, nil
}
