package containers

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/sys/signal"
)

// commitInstructions are the Dockerfile instructions a commit applies,
// docker's set.
var commitInstructions = []string{"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"}

// CheckChanges says whether every change is one ApplyChanges can apply,
// so a command can refuse a bad one before it does anything.
func CheckChanges(changes []string) error {
	var cfg dockerspec.DockerOCIImageConfig
	return ApplyChanges(&cfg, changes)
}

// ApplyChanges applies Dockerfile instructions to an image
// configuration, in order, as docker's commit and import --change do:
// CMD, ENTRYPOINT (JSON or shell form; an ENTRYPOINT drops a CMD that no
// earlier change set), ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR
// and STOPSIGNAL, with $VARIABLES of the configuration's environment
// expanded where a Dockerfile expands them. A change that is not one of
// these, or not well formed, is an ErrInvalidArgument naming it.
func ApplyChanges(cfg *dockerspec.DockerOCIImageConfig, changes []string) error {
	cmdSet := false
	for _, ch := range changes {
		if err := applyChange(cfg, ch, &cmdSet); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad change %q: %v", ch, err))
		}
	}
	return nil
}

func applyChange(cfg *dockerspec.DockerOCIImageConfig, ch string, cmdSet *bool) error {
	if strings.TrimSpace(ch) == "" {
		return errors.New("empty: give one Dockerfile instruction")
	}
	res, err := parser.Parse(strings.NewReader(ch))
	if err != nil {
		return err
	}
	if len(res.AST.Children) != 1 {
		return errors.New("give one Dockerfile instruction")
	}
	n := res.AST.Children[0]
	if instr := strings.ToUpper(n.Value); !slices.Contains(commitInstructions, instr) {
		return fmt.Errorf("%s cannot be applied as a change: give one of %s", instr, strings.Join(commitInstructions, ", "))
	}
	cmd, err := instructions.ParseInstruction(n)
	if err != nil {
		return err
	}
	lex := shell.NewLex(res.EscapeToken)
	expand := func(word string) (string, error) {
		s, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(cfg.Env))
		return s, err
	}
	if e, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(expand); err != nil {
			return err
		}
	}
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		if cfg.Cmd, err = cmdLine(cfg, c.ShellDependantCmdLine); err != nil {
			return err
		}
		*cmdSet = true
	case *instructions.EntrypointCommand:
		if cfg.Entrypoint, err = cmdLine(cfg, c.ShellDependantCmdLine); err != nil {
			return err
		}
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		for _, kv := range c.Labels {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		for _, spec := range c.Ports {
			spec, err := expand(spec)
			if err != nil {
				return err
			}
			ports, err := exposed(spec)
			if err != nil {
				return err
			}
			for _, p := range ports {
				if cfg.ExposedPorts == nil {
					cfg.ExposedPorts = map[string]struct{}{}
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		for _, v := range c.Volumes {
			if !path.IsAbs(v) {
				return fmt.Errorf("volume %q is not an absolute path", v)
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[path.Clean(v)] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		p := c.Path
		if !path.IsAbs(p) {
			p = path.Join("/", cfg.WorkingDir, p)
		}
		cfg.WorkingDir = path.Clean(p)
	case *instructions.StopSignalCommand:
		if _, err := signal.ParseSignal(c.Signal); err != nil {
			return err
		}
		cfg.StopSignal = c.Signal
	default:
		return fmt.Errorf("%s cannot be applied as a change", strings.ToUpper(n.Value))
	}
	return nil
}

// cmdLine is a CMD's or ENTRYPOINT's command: the JSON form as it is, the
// shell form run by the image's SHELL (docker's /bin/sh -c by default).
func cmdLine(cfg *dockerspec.DockerOCIImageConfig, c instructions.ShellDependantCmdLine) ([]string, error) {
	if len(c.Files) > 0 {
		return nil, errors.New("a here-document cannot be part of a change")
	}
	if !c.PrependShell {
		if len(c.CmdLine) == 0 {
			return nil, nil
		}
		return slices.Clone(c.CmdLine), nil
	}
	sh := cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(sh), strings.Join(c.CmdLine, " ")), nil
}

// exposed expands one EXPOSE port spec, PORT[-PORT][/PROTOCOL], into
// docker's "PORT/PROTOCOL" keys.
func exposed(spec string) ([]string, error) {
	ports, proto, _ := strings.Cut(spec, "/")
	proto = strings.ToLower(proto)
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("port %q: protocol %q is not tcp, udp or sctp", spec, proto)
	}
	first, last, isRange := strings.Cut(ports, "-")
	if !isRange {
		last = first
	}
	lo, err1 := strconv.ParseUint(first, 10, 16)
	hi, err2 := strconv.ParseUint(last, 10, 16)
	if err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return nil, fmt.Errorf("port %q: want a port (1-65535) or a range of them, then /tcp, /udp or /sctp", spec)
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}

// setEnv sets k to v in env, where it is, or at the end.
func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if ek, _, _ := strings.Cut(kv, "="); ek == k {
			env = slices.Clone(env)
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
