//go:build !windows

package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/runtime/restart"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/common/volumes"
)

// Labels lepton puts on its containerd containers. Everything else lepton
// knows about a container is in its Config extension, so containerd alone
// says what exists: a container removed with ctr is gone for lepton too.
const (
	LabelCommand     = "lepton/command"     // the command line, for ps without decoding the spec
	LabelStartedAt   = "lepton/started-at"  // RFC 3339, set on each start
	LabelExitCode    = "lepton/exit-code"   // of the last run, once its task is gone
	LabelFinishedAt  = "lepton/finished-at" // RFC 3339
	LabelStopSignal  = "lepton/stop-signal"
	LabelStopTimeout = "lepton/stop-timeout" // seconds
	LabelNetwork     = "lepton/network"      // the network of a container on one, which rm must leave
	LabelAutoRemove  = "lepton/auto-remove"  // run --rm: removed at exit, with its anonymous volumes
	LabelError       = "lepton/error"        // why the last start failed (docker's State.Error)
	LabelHealthcheck = "lepton/healthcheck"  // "true" if the container's healthcheck runs checks

	extConfig     = "lepton/config"
	configTypeURL = "lepton.dev/run/Config"
)

// Config is what a container was created with, in docker's terms; inspect
// shows it as it is.
type Config struct {
	Name        string
	Image       string // as given
	Cmd         []string
	Entrypoint  []string
	Env         []string
	Labels      map[string]string
	WorkingDir  string
	User        string
	Hostname    string
	Tty         bool
	OpenStdin   bool
	StopSignal  string
	StopTimeout *int `json:",omitempty"` // seconds; nil: 10
	// Healthcheck is the image's HEALTHCHECK unless the caller set one.
	Healthcheck *dockerspec.HealthcheckConfig `json:",omitempty"`
	Pull        string                        `json:"-"` // missing (the default), always or never
	Platform    string                        `json:",omitempty"`
	HostConfig  HostConfig
	// ExposedPorts are the ports --expose adds to the image's ("80/tcp");
	// -P publishes both.
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Domainname   string              `json:",omitempty"` // the NIS domain name (--domainname)
	MacAddress   string              `json:",omitempty"` // of eth0 on a bridge network (--mac-address)
}

// HostConfig is the host side of Config, shaped like docker's.
type HostConfig struct {
	Binds           []string
	Tmpfs           map[string]string
	AutoRemove      bool
	NetworkMode     string // a network's name, "none" or "host"
	ReadonlyRootfs  bool
	Privileged      bool
	CapAdd          []string
	CapDrop         []string
	SecurityOpt     []string
	RestartPolicy   RestartPolicy
	ExtraHosts      []string                 // HOST:IP
	DNS             []string                 `json:"Dns"`
	PortBindings    map[string][]PortBinding `json:",omitempty"`
	PublishAllPorts bool                     `json:",omitempty"`
	Memory          int64                    // bytes
	NanoCPUs        int64
	PidsLimit       int64
	Ulimits         []string
	Init            *bool     `json:",omitempty"`
	LogConfig       LogConfig // --log-driver and --log-opt
	// Kernel and name service settings: --group-add, --sysctl, --cgroupns,
	// --dns-search and --dns-option.
	GroupAdd     []string          `json:",omitempty"` // supplementary groups: GIDs or names in the container's /etc/group
	Sysctls      map[string]string `json:",omitempty"` // namespaced kernel parameters
	CgroupnsMode string            `json:",omitempty"` // host or private; "" is the runtime's default
	DNSSearch    []string          `json:"DnsSearch,omitempty"`
	DNSOptions   []string          `json:"DnsOptions,omitempty"`
	// Namespaces shared with the host or another container (see
	// namespaces.go): --pid, --ipc, --uts, --volumes-from, --shm-size.
	PidMode     string   // "", host or container:NAME
	IpcMode     string   // private (""), shareable, none, host or container:NAME
	UTSMode     string   // "" or host
	VolumesFrom []string `json:",omitempty"` // NAME[:ro|:rw]
	ShmSize     int64    // bytes of /dev/shm's tmpfs; 0 is docker's 64m
	// The OOM score of the container's processes, -1000 to 1000, and its
	// OCI spec's annotations.
	OomScoreAdj int
	Annotations map[string]string `json:",omitempty"`
	// Runtime is the containerd runtime ("": io.containerd.runc.v2). The
	// rest record what lepton only accepts: isolation default, user
	// namespace host, volume driver local.
	Runtime      string
	Isolation    string
	UsernsMode   string
	VolumeDriver string
	Resources
}

// PortBinding is one host side of a -p, as docker shows it.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// RestartPolicy is docker's --restart: Name is no, always, on-failure or
// unless-stopped.
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// ReservedLabel says whether a label key is lepton's or containerd's own
// (lepton/, lepton.volume/, containerd.io/), which a user's label may not
// set: lepton reads its state from them.
func ReservedLabel(k string) bool {
	return strings.HasPrefix(k, "lepton/") || strings.HasPrefix(k, volumes.UsedByLabel) || strings.HasPrefix(k, "containerd.io/")
}

// ParseRestartPolicy reads docker's restart policy: no (or ""), always,
// on-failure[:N] or unless-stopped. Its error says what is wrong, for the
// caller to put after the flag or field it came from.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
	case "always", "unless-stopped":
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, errdefs.ErrInvalidArgument.WithMessage("the retry count must be a whole number")
			}
			p.MaximumRetryCount = n
		}
		return p, nil
	default:
		return p, errdefs.ErrInvalidArgument.WithMessage("want no, always, on-failure[:N] or unless-stopped")
	}
	if hasCount {
		return p, errdefs.ErrInvalidArgument.WithMessage("only on-failure takes a retry count")
	}
	return p, nil
}

// Restarts says whether containerd's restart monitor brings the container
// back after its process ends.
func (p RestartPolicy) Restarts() bool { return p.Name != "" && p.Name != "no" }

// labels are the restart monitor's labels for the policy.
func (p RestartPolicy) labels() map[string]string {
	switch p.Name {
	case "", "no":
		return nil
	case "on-failure":
		v := "on-failure"
		if p.MaximumRetryCount > 0 {
			v += ":" + strconv.Itoa(p.MaximumRetryCount)
		}
		return map[string]string{restart.PolicyLabel: v}
	default:
		return map[string]string{restart.PolicyLabel: p.Name}
	}
}

// rawAny carries Config as a containerd extension without registering a Go
// type with typeurl: the value is plain JSON under lepton's own type URL.
type rawAny struct {
	url   string
	value []byte
}

func (a *rawAny) GetTypeUrl() string { return a.url }
func (a *rawAny) GetValue() []byte   { return a.value }

func withConfig(cfg *Config) containerd.NewContainerOpts {
	return func(_ context.Context, _ *containerd.Client, c *containers.Container) error {
		b, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		if c.Extensions == nil {
			c.Extensions = map[string]typeurl.Any{}
		}
		c.Extensions[extConfig] = &rawAny{url: configTypeURL, value: b}
		return nil
	}
}

// ConfigOf reads the Config of a container lepton created; containers made
// by other tools get one pieced together from containerd's own record.
func ConfigOf(info containers.Container) *Config {
	var cfg Config
	if a, ok := info.Extensions[extConfig]; ok && a != nil {
		if err := json.Unmarshal(a.GetValue(), &cfg); err == nil {
			return &cfg
		}
	}
	cfg.Name = info.Labels[LabelName]
	if cfg.Name == "" {
		cfg.Name = info.ID
	}
	cfg.Image = info.Image
	cfg.Labels = info.Labels
	return &cfg
}

// NewID is a fresh container ID: 64 hex digits, as docker's.
func NewID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// IsBuildStep says whether a containerd container is one buildkitd made
// for a build's RUN step (it gives them neither an image nor labels).
// lepton's listings and prune leave them alone: they are the build's, and
// go when the step ends.
func IsBuildStep(info containers.Container) bool {
	return info.Image == "" && len(info.Labels) == 0
}
