//go:build !windows

package run

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
)

type portCmd struct {
	cli.Command
	Args struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
		Port      string `positional-arg-name:"<PRIVATE_PORT>" description:"Only this port[/proto]"`
	} `positional-args:"yes"`
}

// run lists published ports as docker does: "80/tcp -> 0.0.0.0:8080", or
// only the host addresses of the one port asked for.
func (p *portCmd) run(ctx context.Context, a *app, rest []string) error {
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	c := cs.Client()
	defer c.Close()
	info, err := cs.Resolve(ctx, p.Args.Container)
	if err != nil {
		return err
	}
	want, proto, _ := strings.Cut(p.Args.Port, "/")
	if proto == "" {
		proto = "tcp"
	}
	found := false
	for _, pt := range readNetIndex(ctx, cs.Networks()).ports(info.ID) {
		hostIP := pt.HostIP
		if hostIP == "" {
			hostIP = "0.0.0.0"
		}
		host := fmt.Sprintf("%s:%d", hostIP, pt.HostPort)
		switch {
		case p.Args.Port == "":
			fmt.Fprintf(a.env.Stdout, "%d/%s -> %s\n", pt.ContainerPort, pt.Proto, host)
		case want == strconv.Itoa(pt.ContainerPort) && proto == pt.Proto:
			fmt.Fprintln(a.env.Stdout, host)
			found = true
		}
	}
	if p.Args.Port != "" && !found {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no public port %s published for %s", p.Args.Port, p.Args.Container))
	}
	return nil
}
