//go:build !windows

package run

import (
	"slices"
	"strings"

	units "github.com/docker/go-units"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

// nsFlags are run and create's namespace and sharing options. The work is
// common/containers' (namespaces.go); here they are only checked.
type nsFlags struct {
	Init        bool     `long:"init" description:"Run lepton's init as PID 1: it forwards signals to the command and reaps zombies"`
	Pid         string   `long:"pid" value-name:"<MODE>" description:"PID namespace: host, or container:NAME to share a running container's"`
	IPC         string   `long:"ipc" value-name:"<MODE>" description:"IPC namespace and /dev/shm: private (the default), shareable, none, host, or container:NAME of a running shareable one"`
	UTS         string   `long:"uts" value-name:"<MODE>" description:"UTS namespace: host keeps the host's host name"`
	VolumesFrom []string `long:"volumes-from" value-name:"<NAME[:ro|:rw]>" description:"Mount the volumes and bind mounts of another container, read-only or read-write as given (default: as it has them)"`
	ShmSize     string   `long:"shm-size" value-name:"<BYTES>" description:"Size of a private /dev/shm (default 64m)"`
}

// plan checks the options and sets them on p.
func (f *nsFlags) plan(p *containers.Plan) error {
	hc := &p.HostConfig
	if f.Init {
		on := true
		hc.Init = &on
	}
	if err := checkMode("--pid", f.Pid, "host"); err != nil {
		return err
	}
	if err := checkMode("--ipc", f.IPC, "private", "shareable", "none", "host"); err != nil {
		return err
	}
	switch f.UTS {
	case "":
	case "host":
		if p.Hostname != "" {
			return cli.Usagef("conflicting options: --hostname and --uts host (the container keeps the host's name)")
		}
	default:
		return cli.Usagef("bad --uts %q: want host", f.UTS)
	}
	for _, v := range f.VolumesFrom {
		name, mode, _ := strings.Cut(v, ":")
		if name == "" || mode != "" && mode != "ro" && mode != "rw" {
			return cli.Usagef("bad --volumes-from %q: want NAME, NAME:ro or NAME:rw", v)
		}
	}
	var shm int64 // 0: docker's 64m
	if f.ShmSize != "" {
		n, err := units.RAMInBytes(f.ShmSize)
		if err != nil || n <= 0 {
			return cli.Usagef("bad --shm-size %q: want a size such as 64m or 1g", f.ShmSize)
		}
		if f.IPC != "" && f.IPC != "private" {
			// shareable's /dev/shm is a directory under lepton's data root,
			// which any container joining it mounts: no tmpfs to size.
			return cli.Usagef("conflicting options: --shm-size and --ipc %s (only a private /dev/shm is a tmpfs of its own)", f.IPC)
		}
		shm = n
	}
	hc.PidMode, hc.IpcMode, hc.UTSMode, hc.VolumesFrom, hc.ShmSize = f.Pid, f.IPC, f.UTS, f.VolumesFrom, shm
	if hc.RestartPolicy.Restarts() {
		// containerd's restart monitor starts the task again with the spec
		// as it is, so it would join a namespace path that died with the
		// other container's task (or a reused PID's).
		for flag, mode := range map[string]string{"--pid": hc.PidMode, "--ipc": hc.IpcMode, "--network": hc.NetworkMode} {
			if strings.HasPrefix(mode, "container:") {
				return cli.Usagef("conflicting options: --restart %s and %s %s (restarts happen without lepton, which could not join that container's namespace again): drop --restart, or restart this container with lepton start", hc.RestartPolicy.Name, flag, mode)
			}
		}
	}
	return nil
}

// checkMode accepts "", one of words, or container:NAME.
func checkMode(flag, mode string, words ...string) error {
	if mode == "" || slices.Contains(words, mode) {
		return nil
	}
	if name, ok := strings.CutPrefix(mode, "container:"); ok && name != "" {
		return nil
	}
	return cli.Usagef("bad %s %q: want %s or container:NAME", flag, mode, strings.Join(words, ", "))
}

// checkContainerNetwork refuses, as docker does, what --network
// container:NAME leaves no room for: the container gets that container's
// network as it is, with its addresses, ports, host name and /etc files.
func checkContainerNetwork(f *createFlags) error {
	if strings.TrimPrefix(f.Network, "container:") == "" {
		return cli.Usagef("bad --network %q: want container:NAME", f.Network)
	}
	for _, c := range []struct {
		set  bool
		what string
	}{
		{len(f.Publish) > 0 || f.PublishAll, "-p/-P"},
		{len(f.Expose) > 0, "--expose"},
		{f.IP != "", "--ip"},
		{f.MacAddress != "", "--mac-address"},
		{len(f.Alias) > 0, "--network-alias"},
		{f.Hostname != "", "--hostname"},
		{len(f.DNS)+len(f.DNSSearch)+len(f.DNSOptions) > 0, "--dns"},
		{len(f.AddHost) > 0, "--add-host"},
	} {
		if c.set {
			return cli.Usagef("conflicting options: %s and --network %s (the container shares that one's network, names and /etc files as they are)", c.what, f.Network)
		}
	}
	return nil
}
