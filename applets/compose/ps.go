//go:build !windows

package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
	"github.com/lepton-project/lepton/common/events"
	"github.com/lepton-project/lepton/common/networks"
)

type psCmd struct {
	cli.Command
	All      bool        `short:"a" long:"all" description:"Show stopped containers too"`
	Quiet    bool        `short:"q" long:"quiet" description:"Print container IDs only"`
	Services bool        `long:"services" description:"Print the service names only"`
	Status   []string    `long:"status" value-name:"<STATUS>" description:"Only containers in this state: created, running, paused or exited (repeatable)"`
	Format   string      `long:"format" value-name:"<FORMAT>" description:"json, table, or a Go template"`
	Args     serviceArgs `positional-args:"yes"`
}

// psItem is one line of ps, with docker compose's JSON field names.
type psItem struct {
	ID         string
	Name       string
	Image      string
	Command    string
	Project    string
	Service    string
	CreatedAt  string
	State      string
	Status     string
	Health     string
	ExitCode   int
	Ports      string
	Publishers []publisher
	Labels     string
	RunningFor string
}

type publisher struct {
	URL           string
	TargetPort    int
	PublishedPort int
	Protocol      string
}

func (c *psCmd) run(ctx context.Context, a *app, _ []string) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	for _, s := range c.Status {
		switch s {
		case "created", "running", "paused", "exited", "restarting", "removing", "dead":
		default:
			return cli.Usagef("bad --status %q: want created, running, paused or exited", s)
		}
	}
	p, cs, ms, err := a.targets(ctx, c.Args.Services, true)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	now := time.Now()
	ports := publishedPorts(ctx, cs.Networks())
	var items []psItem
	seen := map[string]bool{}
	for _, m := range ms {
		if len(c.Status) > 0 && !slices.Contains(c.Status, m.state.Status) || len(c.Status) == 0 && !c.All && !m.running() {
			continue
		}
		if c.Services {
			if !seen[m.service] {
				seen[m.service] = true
				fmt.Fprintln(a.env.Stdout, m.service)
			}
			continue
		}
		if c.Quiet {
			fmt.Fprintln(a.env.Stdout, m.info.ID)
			continue
		}
		it := psItem{
			ID: m.info.ID, Name: m.name, Image: m.info.Image, Command: m.info.Labels[containers.LabelCommand],
			Project: p.Name, Service: m.service, CreatedAt: m.info.CreatedAt.Format("2006-01-02 15:04:05 -0700 MST"),
			State: m.state.Status, Status: containers.StatusText(now, m.info, m.state), ExitCode: int(m.state.ExitCode),
			Labels: cli.JoinLabels(m.info.Labels), RunningFor: containers.Ago(now, m.info.CreatedAt), Publishers: []publisher{},
		}
		if m.info.Labels[containers.LabelHealthcheck] == "true" {
			it.Health = containers.HealthStarting
			if h := containers.ReadHealth(cs.Dir(m.info.ID)); h != nil {
				it.Health = h.Status
			}
			if m.state.Status == "running" {
				it.Status += containers.HealthText(it.Health)
			}
		}
		var texts []string
		if m.running() {
			for _, pt := range ports[m.info.ID] {
				texts = append(texts, pt.String())
				ip := pt.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				it.Publishers = append(it.Publishers, publisher{URL: ip, TargetPort: pt.ContainerPort, PublishedPort: pt.HostPort, Protocol: pt.Proto})
			}
		}
		it.Ports = strings.Join(texts, ", ")
		items = append(items, it)
	}
	if c.Quiet || c.Services {
		return nil
	}
	return cli.Print(a.env.Stdout, c.Format, cli.Table{
		Headers: []string{"NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"},
		Row:     "{{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
	}, items)
}

// publishedPorts are the ports each container has published, by ID, as
// the network records hold them (with the host ports picked for "-p 80").
func publishedPorts(ctx context.Context, nets *networks.Networks) map[string][]networks.Port {
	out := map[string][]networks.Port{}
	all, err := nets.List(ctx)
	if err != nil {
		return out
	}
	for _, n := range all {
		for id, e := range n.Endpoints {
			out[id] = append(out[id], e.Ports...)
		}
	}
	for _, ps := range out {
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].ContainerPort != ps[j].ContainerPort {
				return ps[i].ContainerPort < ps[j].ContainerPort
			}
			return ps[i].Proto < ps[j].Proto
		})
	}
	return out
}

type lsCmd struct {
	cli.Command
	All    bool   `short:"a" long:"all" description:"Show projects whose containers are all stopped too"`
	Quiet  bool   `short:"q" long:"quiet" description:"Print project names only"`
	Format string `long:"format" value-name:"<FORMAT>" description:"json, table, or a Go template"`
}

type lsItem struct {
	Name        string
	Status      string
	ConfigFiles string
}

// run lists projects from their containers' labels: a project is what has
// containers (docker compose ls does the same).
func (c *lsCmd) run(ctx context.Context, a *app, _ []string) error {
	if err := cli.CheckFormat(c.Format); err != nil {
		return err
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	cl := cs.Client()
	defer cl.Close()
	infos, err := cl.ContainerService().List(ctx, fmt.Sprintf("labels.%q", labelProject))
	if err != nil {
		return err
	}
	tasks, err := taskList(ctx, cl)
	if err != nil {
		return err
	}
	type proj struct {
		files  string
		counts map[string]int
	}
	projects := map[string]*proj{}
	for _, info := range infos {
		name := info.Labels[labelProject]
		pr := projects[name]
		if pr == nil {
			pr = &proj{files: info.Labels[labelConfigFiles], counts: map[string]int{}}
			projects[name] = pr
		}
		pr.counts[containers.StateOf(info, tasks[info.ID]).Status]++
	}
	var items []lsItem
	for _, name := range sortedKeys(projects) {
		pr := projects[name]
		if !c.All && pr.counts["running"] == 0 {
			continue
		}
		if c.Quiet {
			fmt.Fprintln(a.env.Stdout, name)
			continue
		}
		var parts []string
		for _, st := range sortedKeys(pr.counts) {
			parts = append(parts, fmt.Sprintf("%s(%d)", st, pr.counts[st]))
		}
		items = append(items, lsItem{Name: name, Status: strings.Join(parts, ", "), ConfigFiles: pr.files})
	}
	if c.Quiet {
		return nil
	}
	return cli.Print(a.env.Stdout, c.Format, cli.Table{Headers: []string{"NAME", "STATUS", "CONFIG FILES"}, Row: "{{.Name}}\t{{.Status}}\t{{.ConfigFiles}}"}, items)
}

type portCmd struct {
	cli.Command
	Protocol string `long:"protocol" value-name:"<tcp|udp>" default:"tcp" description:"Protocol of the port"`
	Index    int    `long:"index" value-name:"<N>" default:"1" description:"Which container of the service"`
	Args     struct {
		Service string `positional-arg-name:"<SERVICE>" required:"yes" description:"Service"`
		Port    string `positional-arg-name:"<PRIVATE_PORT>" required:"yes" description:"Port inside the container"`
	} `positional-args:"yes"`
}

func (c *portCmd) run(ctx context.Context, a *app, _ []string) error {
	want, err := strconv.Atoi(c.Args.Port)
	if err != nil {
		return cli.Usagef("bad port %q: want a number", c.Args.Port)
	}
	_, cs, ms, err := a.targets(ctx, []string{c.Args.Service}, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	m, err := indexed(ms, c.Args.Service, c.Index)
	if err != nil {
		return err
	}
	for _, pt := range publishedPorts(ctx, cs.Networks())[m.info.ID] {
		if pt.ContainerPort == want && pt.Proto == c.Protocol {
			ip := pt.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			fmt.Fprintf(a.env.Stdout, "%s:%d\n", ip, pt.HostPort)
			return nil
		}
	}
	return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no port %d/%s published for %s", want, c.Protocol, m.name))
}

// indexed is container number index of service among ms.
func indexed(ms []member, service string, index int) (member, error) {
	for _, m := range ms {
		if m.service == service && m.number == index && !m.oneoff {
			return m, nil
		}
	}
	return member{}, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("service %s has no container number %d: start it with lepton compose up -d %s", service, index, service))
}

type waitCmd struct {
	cli.Command
	Args struct {
		Services []string `positional-arg-name:"<SERVICE>" required:"1" description:"Services to wait for"`
	} `positional-args:"yes"`
}

// run waits for every container of the services, printing each exit
// code as it stops; lepton exits with the first non-zero one.
func (c *waitCmd) run(ctx context.Context, a *app, _ []string) error {
	_, cs, ms, err := a.targets(ctx, c.Args.Services, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	first := 0
	for _, m := range ms {
		code, err := cs.Wait(ctx, m.info)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", m.name, err)
		}
		fmt.Fprintln(a.env.Stdout, code)
		if first == 0 {
			first = code
		}
	}
	if first != 0 {
		return &cli.ExitError{Code: first}
	}
	return nil
}

type topCmd struct {
	cli.Command
	Args serviceArgs `positional-args:"yes"`
}

// run lists each running container's processes from /proc, as lepton
// top does for one container.
func (c *topCmd) run(ctx context.Context, a *app, _ []string) error {
	_, cs, ms, err := a.targets(ctx, c.Args.Services, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	for i, m := range ms {
		if m.state.Status != "running" {
			continue
		}
		task, err := cs.RunningTask(ctx, m.info, m.name)
		if err != nil {
			continue
		}
		pids, err := containers.Pids(ctx, task)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(a.env.Stdout)
		}
		fmt.Fprintln(a.env.Stdout, m.name)
		tw := tabwriter.NewWriter(a.env.Stdout, 4, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "PID\tCMD")
		for _, p := range pids {
			cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if err != nil {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\n", p, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
		}
		tw.Flush()
	}
	return nil
}

type eventsCmd struct {
	cli.Command
	JSON bool        `long:"json" description:"One JSON object per line"`
	Args serviceArgs `positional-args:"yes"`
}

// composeEvent is docker compose's --json line.
type composeEvent struct {
	Time       string            `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
}

// run streams the events of the project's containers, from now until
// interrupted: containerd keeps no history.
func (c *eventsCmd) run(ctx context.Context, a *app, _ []string) error {
	p, err := a.load(ctx)
	if err != nil {
		return err
	}
	if _, err := selected(p, c.Args.Services); err != nil {
		return err
	}
	cl, err := a.g.Client(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	enc := json.NewEncoder(a.env.Stdout)
	enc.SetEscapeHTML(false)
	return events.Stream(ctx, cl, a.g.Namespace, containers.EventActor, func(e events.Event) error {
		attrs := e.Actor.Attributes
		svc := attrs[labelService]
		if e.Type != events.Container || attrs[labelProject] != p.Name || len(c.Args.Services) > 0 && !slices.Contains(c.Args.Services, svc) {
			return nil
		}
		if c.JSON {
			return enc.Encode(composeEvent{Time: time.Unix(0, e.TimeNano).UTC().Format(time.RFC3339Nano), Type: e.Type, Action: e.Action, ID: e.Actor.ID, Service: svc, Attributes: attrs})
		}
		_, err := fmt.Fprintln(a.env.Stdout, e.String())
		return err
	})
}

type cpCmd struct {
	cli.Command
	Archive    bool `short:"a" long:"archive" description:"Keep the files' owners (UID and GID) and full modes"`
	FollowLink bool `short:"L" long:"follow-link" description:"Copy what a symbolic link at SRC points to, not the link itself"`
	Index      int  `long:"index" value-name:"<N>" default:"1" description:"Which container of the service"`
	Args       struct {
		Src string `positional-arg-name:"<SRC>" required:"yes" description:"SERVICE:PATH, a host path, or - for a tar stream on stdin"`
		Dst string `positional-arg-name:"<DEST>" required:"yes" description:"SERVICE:PATH, a host path, or - for a tar stream on stdout"`
	} `positional-args:"yes"`
}

// run is lepton cp with SERVICE:PATH standing for the service's
// container (--index picks among several).
func (c *cpCmd) run(ctx context.Context, a *app, _ []string) error {
	if err := containers.CheckCopyPaths(c.Args.Src, c.Args.Dst); err != nil {
		return cli.Usagef("%s", strings.ReplaceAll(err.Error(), "CONTAINER", "SERVICE"))
	}
	svc, _ := containers.SplitCopyPath(c.Args.Src)
	if svc == "" {
		svc, _ = containers.SplitCopyPath(c.Args.Dst)
	}
	_, cs, ms, err := a.targets(ctx, []string{svc}, false)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	m, err := indexed(ms, svc, c.Index)
	if err != nil {
		return err
	}
	// The container's ID, which no name can shadow, in the service's place.
	swap := func(arg string) string {
		if s, p := containers.SplitCopyPath(arg); s == svc {
			return m.info.ID + ":" + p
		}
		return arg
	}
	_, err = cs.Copy(ctx, swap(c.Args.Src), swap(c.Args.Dst), a.env.Stdin, a.env.Stdout, containers.CopyOptions{Archive: c.Archive, FollowLink: c.FollowLink})
	return err
}
