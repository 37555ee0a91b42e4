package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/lepton-project/lepton/common/cli"
)

// Version is set at build time by install.sh (-ldflags "-X main.Version=...").
var Version = ""

type versionInfo struct {
	Client struct {
		Version   string
		GoVersion string
		Os        string
		Arch      string
	}
	Server *serverInfo // nil when containerd cannot be reached
}

type serverInfo struct {
	Name     string
	Address  string
	Version  string
	Revision string
}

// version prints lepton's version and, when it answers, containerd's.
// An unreachable containerd is reported on stderr but is not a failure:
// the client part is still true and useful.
func version(ctx context.Context, env *cli.Env, args []string) error {
	var opts struct {
		cli.Globals
		Format string `short:"f" long:"format" value-name:"<FORMAT>" description:"\"json\" or a Go template"`
	}
	venv := *env
	venv.Name = "lepton version"
	p := cli.NewParser(&venv, &opts)
	p.ShortDescription = "Show lepton's and containerd's versions"
	rest, err := p.ParseArgs(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usagef("unexpected argument %q", rest[0])
	}
	opts.Globals.Resolve(env)

	var v versionInfo
	v.Client.Version = clientVersion()
	v.Client.GoVersion = runtime.Version()
	v.Client.Os, v.Client.Arch = runtime.GOOS, runtime.GOARCH

	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if c, err := opts.Globals.Client(cctx); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", env.Name, err)
	} else {
		defer c.Close()
		sv, err := c.Version(cctx)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: containerd at %s did not say its version: %v\n", env.Name, opts.Address, err)
		} else {
			v.Server = &serverInfo{Name: "containerd", Address: opts.Address, Version: sv.Version, Revision: sv.Revision}
		}
	}

	switch opts.Format {
	case "":
		fmt.Fprintf(env.Stdout, "Client: lepton\n Version:    %s\n Go version: %s\n OS/Arch:    %s/%s\n",
			v.Client.Version, v.Client.GoVersion, v.Client.Os, v.Client.Arch)
		if v.Server != nil {
			fmt.Fprintf(env.Stdout, "\nServer: containerd\n Address:    %s\n Version:    %s\n Revision:   %s\n",
				v.Server.Address, v.Server.Version, v.Server.Revision)
		}
		return nil
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	default:
		return cli.Print(env.Stdout, opts.Format, cli.Table{}, []versionInfo{v})
	}
}

// clientVersion is the version stamped by install.sh, else the module or
// VCS information Go recorded in the binary.
func clientVersion() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
