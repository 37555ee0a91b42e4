//go:build !windows

package compose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	ctrs "github.com/containerd/containerd/v2/core/containers"

	"github.com/lepton-project/lepton/common/containers"
)

// docker compose's labels, which lepton-compose writes and reads the same
// way so that docker tooling and lepton ps --filter recognise a project.
const (
	labelProject     = "com.docker.compose.project"
	labelService     = "com.docker.compose.service"
	labelNumber      = "com.docker.compose.container-number"
	labelHash        = "com.docker.compose.config-hash"
	labelOneoff      = "com.docker.compose.oneoff"
	labelWorkingDir  = "com.docker.compose.project.working_dir"
	labelConfigFiles = "com.docker.compose.project.config_files"
	labelImage       = "com.docker.compose.image" // the image's digest when the container was made
	labelVersion     = "com.docker.compose.version"
	labelNetwork     = "com.docker.compose.network"
	labelVolume      = "com.docker.compose.volume"
)

// member is one container of a project.
type member struct {
	info    ctrs.Container
	name    string
	service string
	number  int
	oneoff  bool
	state   containers.State
}

func (m member) running() bool { return m.state.Status == "running" || m.state.Status == "paused" }

// members lists the project's containers (one-off run containers too
// when oneoff is set), by service and number.
func members(ctx context.Context, c *containerd.Client, project string, oneoff bool) ([]member, error) {
	infos, err := c.ContainerService().List(ctx, fmt.Sprintf("labels.%q==%s", labelProject, project))
	if err != nil {
		return nil, err
	}
	var byID map[string]*tasktypes.Process
	if len(infos) > 0 {
		if byID, err = taskList(ctx, c); err != nil {
			return nil, err
		}
	}
	var out []member
	for _, info := range infos {
		m := member{info: info, name: containers.ConfigOf(info).Name, service: info.Labels[labelService], oneoff: info.Labels[labelOneoff] == "True"}
		if m.oneoff && !oneoff {
			continue
		}
		m.number, _ = strconv.Atoi(info.Labels[labelNumber])
		m.state = containers.StateOf(info, byID[info.ID])
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b member) int {
		if c := strings.Compare(a.service, b.service); c != 0 {
			return c
		}
		if a.oneoff != b.oneoff {
			if a.oneoff {
				return 1
			}
			return -1
		}
		if a.number != b.number {
			return a.number - b.number
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// taskList is every task of the namespace by container ID, in one call.
func taskList(ctx context.Context, c *containerd.Client) (map[string]*tasktypes.Process, error) {
	resp, err := c.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*tasktypes.Process, len(resp.Tasks))
	for _, t := range resp.Tasks {
		byID[t.ID] = t
	}
	return byID, nil
}

// ofServices keeps the members of the named services (all when none).
func ofServices(ms []member, services []string) []member {
	if len(services) == 0 {
		return ms
	}
	var out []member
	for _, m := range ms {
		if slices.Contains(services, m.service) {
			out = append(out, m)
		}
	}
	return out
}

// configHash is what a second up compares to decide whether a service's
// containers are still what the file says: every field but the scale,
// which changes how many there are, not what each is, and depends_on,
// which changes when they start (and is dropped by up --no-deps).
func configHash(s types.ServiceConfig) string {
	s.Scale = nil
	s.DependsOn = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// containerName is docker compose's: container_name, else
// PROJECT-SERVICE-N.
func containerName(project string, s types.ServiceConfig, n int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return fmt.Sprintf("%s-%s-%d", project, s.Name, n)
}

// projectLabels are the labels every container of the project carries.
func projectLabels(p *types.Project) map[string]string {
	return map[string]string{
		labelProject:     p.Name,
		labelWorkingDir:  p.WorkingDir,
		labelConfigFiles: strings.Join(p.ComposeFiles, ","),
		labelVersion:     "lepton",
	}
}
