//go:build !windows

package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	lcontainers "github.com/lepton-project/lepton/common/containers"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/store"
)

// Labels lepton puts on its containerd containers. Everything else lepton
// knows about a container is in its Config extension, so containerd alone
// says what exists: a container removed with ctr is gone for lepton too.
const (
	labelName        = lcontainers.LabelName
	labelCommand     = "lepton/command"     // the command line, for ps without decoding the spec
	labelStartedAt   = "lepton/started-at"  // RFC 3339, set on each start
	labelExitCode    = "lepton/exit-code"   // of the last run, once its task is gone
	labelFinishedAt  = "lepton/finished-at" // RFC 3339
	labelStopSignal  = "lepton/stop-signal"
	labelStopTimeout = "lepton/stop-timeout"
	labelNetwork     = "lepton/network" // the network of a container on one, which rm must leave
	extConfig        = "lepton/config"
	configTypeURL    = "lepton.dev/run/Config"
)

// Config is what a container was created with, in docker's terms.
type Config struct {
	Name       string
	Image      string // as given
	Cmd        []string
	Entrypoint []string
	Env        []string
	Labels     map[string]string
	WorkingDir string
	User       string
	Hostname   string
	Tty        bool
	OpenStdin  bool
	StopSignal string
	Pull       string `json:"-"`
	Platform   string `json:",omitempty"`
	HostConfig HostConfig
}

// HostConfig is the host side of Config, shaped like docker's.
type HostConfig struct {
	Binds           []string
	Tmpfs           map[string]string
	AutoRemove      bool
	NetworkMode     string
	ReadonlyRootfs  bool
	Privileged      bool
	CapAdd          []string
	CapDrop         []string
	SecurityOpt     []string
	RestartPolicy   RestartPolicy
	ExtraHosts      []string
	DNS             []string                 `json:"Dns"`
	PortBindings    map[string][]PortBinding `json:",omitempty"`
	PublishAllPorts bool                     `json:",omitempty"`
	Memory          int64
	NanoCPUs        int64
	PidsLimit       int64
	Ulimits         []string
}

// PortBinding is one host side of a -p, as docker shows it.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// RestartPolicy is docker's --restart.
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
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
			c.Extensions = map[string]typeurlAny{}
		}
		c.Extensions[extConfig] = &rawAny{url: configTypeURL, value: b}
		return nil
	}
}

// configOf reads the Config of a container lepton created; containers made
// by other tools get one pieced together from containerd's own record.
func configOf(info containers.Container) *Config {
	var cfg Config
	if a, ok := info.Extensions[extConfig]; ok && a != nil {
		if err := json.Unmarshal(a.GetValue(), &cfg); err == nil {
			return &cfg
		}
	}
	cfg.Name = info.Labels[labelName]
	if cfg.Name == "" {
		cfg.Name = info.ID
	}
	cfg.Image = info.Image
	cfg.Labels = info.Labels
	return &cfg
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// resolve finds a container by name, full ID or unique ID prefix.
func (a *app) resolve(ctx context.Context, c *containerd.Client, ref string) (containers.Container, error) {
	if ref == "" {
		return containers.Container{}, errdefs.ErrInvalidArgument.WithMessage("empty container name")
	}
	cs := c.ContainerService()
	if store.ValidateKey(ref) == nil {
		if names, err := a.names(ctx); err == nil {
			if cl, err := names.Get(ctx, ref); err == nil {
				if info, err := cs.Get(ctx, cl.ID); err == nil {
					return info, nil
				}
			}
		}
	}
	if info, err := cs.Get(ctx, ref); err == nil {
		return info, nil
	}
	if isHex(ref) {
		all, err := cs.List(ctx, "id~=^"+ref)
		if err != nil {
			return containers.Container{}, err
		}
		switch len(all) {
		case 1:
			return all[0], nil
		case 0:
		default:
			return containers.Container{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container ID prefix %q matches %d containers: give more of it", ref, len(all)))
		}
	}
	return containers.Container{}, errdefs.ErrNotFound.WithMessage("no such container: " + cli.Quote(ref))
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}
