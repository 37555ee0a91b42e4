//go:build !windows

package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/common/store"
)

// Labels lepton puts on its containerd containers. Everything else lepton
// knows about a container is in its Config extension, so containerd alone
// says what exists: a container removed with ctr is gone for lepton too.
const (
	labelName        = "lepton/name"
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

// claim is a name's record in the store collection "names". A claim is
// live while its container exists in containerd, or while the process that
// made it is still creating the container; anything else is a leftover of a
// killed lepton and may be taken over.
type claim struct {
	ID       string
	PID      int
	PIDStart uint64 // the claimant's start time, so a reused PID is not mistaken for it
	At       time.Time
}

// claimName takes name for id, failing with ErrAlreadyExists ("name already
// in use") if a live claim holds it. It returns the ID of a stale claim it
// replaced, whose leftovers the caller should clean.
func claimName(ctx context.Context, c *containerd.Client, names *store.Collection, name, id string) (stale string, err error) {
	err = names.Locked(ctx, name, func(r *store.Record) error {
		if b, err := r.Data(); err == nil {
			var old claim
			if json.Unmarshal(b, &old) == nil && old.ID != "" {
				if live, err := claimLive(ctx, c, &old); err != nil {
					return err
				} else if live {
					return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf(
						"the container name %q is already in use by container %s: remove that container or choose another name", name, old.ID))
				}
				stale = old.ID
			}
		}
		b, _ := json.Marshal(claim{ID: id, PID: os.Getpid(), PIDStart: proc.Start(os.Getpid()), At: time.Now().UTC()})
		return r.Write(b)
	})
	return stale, err
}

func claimLive(ctx context.Context, c *containerd.Client, cl *claim) (bool, error) {
	if _, err := c.ContainerService().Get(ctx, cl.ID); err == nil {
		return true, nil
	} else if !errdefs.IsNotFound(err) {
		return false, err
	}
	if cl.PID > 0 && cl.PIDStart != 0 && proc.Start(cl.PID) == cl.PIDStart {
		return true, nil // its creator is still at work
	}
	return false, nil
}

// releaseName drops name's claim if it is still id's.
func releaseName(ctx context.Context, names *store.Collection, name, id string) error {
	return names.Locked(ctx, name, func(r *store.Record) error {
		b, err := r.Data()
		if errdefs.IsNotFound(err) {
			return nil
		}
		var cl claim
		if err != nil || json.Unmarshal(b, &cl) != nil || cl.ID == id {
			return r.Remove()
		}
		return nil
	})
}

// resolve finds a container by name, full ID or unique ID prefix.
func (a *app) resolve(ctx context.Context, c *containerd.Client, ref string) (containers.Container, error) {
	if ref == "" {
		return containers.Container{}, errdefs.ErrInvalidArgument.WithMessage("empty container name")
	}
	cs := c.ContainerService()
	if store.ValidateKey(ref) == nil {
		if names, err := a.names(ctx); err == nil {
			if b, err := names.Get(ctx, ref); err == nil {
				var cl claim
				if json.Unmarshal(b, &cl) == nil {
					if info, err := cs.Get(ctx, cl.ID); err == nil {
						return info, nil
					}
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
	return containers.Container{}, errdefs.ErrNotFound.WithMessage("no such container: " + ref)
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
