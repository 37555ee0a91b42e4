package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/lepton-project/lepton/common/cli"
)

// apiVersion is the docker Engine API version whose command-line
// behaviour lepton follows. lepton serves no API; scripts that read
// {{.Client.APIVersion}} or {{.Server.APIVersion}} get a plausible value.
const apiVersion = "1.43"

type versionInfo struct {
	Client struct {
		Version    string
		APIVersion string
		GoVersion  string
		Os         string
		Arch       string
	}
	Server *serverInfo // nil when containerd cannot be reached
}

type serverInfo struct {
	Name       string
	Address    string
	Version    string
	Revision   string
	APIVersion string
	Os         string
	Arch       string
}

// version prints lepton's version and, when it answers, containerd's.
// An unreachable containerd fails with exit 1, as docker's version does
// when the daemon is down, after the client part is printed: it is still
// true and useful.
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
	v.Client.Version, v.Client.APIVersion = cli.ClientVersion(), apiVersion
	v.Client.GoVersion = runtime.Version()
	v.Client.Os, v.Client.Arch = runtime.GOOS, runtime.GOARCH

	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var serverErr error
	if c, err := opts.Globals.Client(cctx); err != nil {
		serverErr = err
	} else {
		defer c.Close()
		sv, err := c.Version(cctx)
		if err != nil {
			serverErr = fmt.Errorf("containerd at %s did not say its version: %w", opts.Address, err)
		} else {
			v.Server = &serverInfo{Name: "containerd", Address: opts.Address, Version: sv.Version, Revision: sv.Revision,
				APIVersion: apiVersion, Os: runtime.GOOS, Arch: runtime.GOARCH}
		}
	}
	if serverErr != nil && opts.Format != "" && opts.Format != "json" && strings.Contains(opts.Format, ".Server") {
		// The template asks for what containerd did not say: why is the answer.
		return &cli.ExitError{Code: 1, Err: serverErr}
	}
	if err := printVersion(env, opts.Format, &v); err != nil {
		return err
	}
	if serverErr != nil {
		return &cli.ExitError{Code: 1, Err: serverErr}
	}
	return nil
}

func printVersion(env *cli.Env, format string, v *versionInfo) error {

	switch format {
	case "":
		fmt.Fprintf(env.Stdout, "Client: lepton\n Version:    %s\n API version: %s\n Go version: %s\n OS/Arch:    %s/%s\n",
			v.Client.Version, v.Client.APIVersion, v.Client.GoVersion, v.Client.Os, v.Client.Arch)
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
		return cli.Print(env.Stdout, format, cli.Table{}, []versionInfo{*v})
	}
}
