package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lepton-project/lepton/common/cli"
)

// inspectKinds are the kinds docker's generic inspect looks a name up as,
// in docker's order, with the applet whose inspect shows each.
var inspectKinds = []struct{ kind, applet string }{
	{"container", "lepton-container"},
	{"image", "lepton-image"},
	{"network", "lepton-network"},
	{"volume", "lepton-volume"},
}

func appletOfKind(kind string) string {
	for _, k := range inspectKinds {
		if k.kind == kind {
			return k.applet
		}
	}
	return ""
}

const inspectUsage = `Usage: lepton inspect [--type container|image|network|volume] [-f FORMAT] NAME...

Show objects in detail, as one JSON array. Each NAME (or ID) is looked up as
a container, an image, a network and a volume, in that order, unless --type
names the kind.

Options:
  --type KIND          Only look for objects of this kind
  -f, --format FORMAT  Go template applied to each object (default: a JSON array)
`

// inspectOptions are the generic inspect's command line.
type inspectOptions struct {
	help    bool
	format  string
	typ     string
	targets []string
}

func parseInspect(args []string) (inspectOptions, error) {
	var o inspectOptions
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case a == "-" || !strings.HasPrefix(a, "-"):
			o.targets = append(o.targets, a)
		case a == "--":
			o.targets = append(o.targets, args[i+1:]...)
			i = len(args)
		case name == "-f" || name == "--format" || name == "--type" || strings.HasPrefix(a, "-f") && len(a) > 2:
			switch {
			case hasVal:
			case strings.HasPrefix(a, "-f") && len(a) > 2 && name != "-f":
				val = a[2:] // -fTEMPLATE
				name = "-f"
			case i+1 < len(args):
				i++
				val = args[i]
			default:
				return o, cli.Usagef("option %s needs a value", a)
			}
			if name == "--type" {
				o.typ = val
			} else {
				o.format = val
			}
		case a == "-h" || a == "--help":
			o.help = true
			return o, nil
		default:
			return o, cli.Usagef("unknown option %q (inspect takes --type and -f/--format)", a)
		}
	}
	if o.typ != "" && appletOfKind(o.typ) == "" {
		return o, cli.Usagef("--type %q: want container, image, network or volume", o.typ)
	}
	if len(o.targets) == 0 {
		return o, cli.Usagef("inspect needs at least one name or ID (lepton inspect [--type KIND] NAME...)")
	}
	return o, nil
}

// inspectAny is docker's generic inspect: each name is looked up as a
// container, an image, a network and a volume, in that order, unless
// --type says which; the first kind that has it shows it. When all names
// are of one kind, that kind's own inspect runs as it would on its own;
// otherwise each name is shown by its kind's inspect and the results are
// joined into one JSON array (or one template line each), in the order
// the names were given.
func inspectAny(ctx context.Context, env *cli.Env, globals, args []string) int {
	o, err := parseInspect(args)
	if err != nil {
		return cli.Report(env, err)
	}
	if o.help {
		fmt.Fprint(env.Stdout, inspectUsage)
		return cli.ExitOK
	}
	run := func(applet string, stdout *bytes.Buffer, format string, targets []string) int {
		aenv := *env
		aenv.Name = applet
		if stdout != nil {
			aenv.Stdout = stdout
		}
		full := append(append([]string{}, globals...), "inspect")
		if format != "" {
			full = append(full, "--format", format)
		}
		full = append(append(full, "--"), targets...)
		return cli.Report(&aenv, applets[applet].Main(ctx, &aenv, full))
	}
	if o.typ != "" {
		return run(appletOfKind(o.typ), nil, o.format, o.targets)
	}
	for _, t := range o.targets {
		if t == "-" {
			// Names on stdin: only the applet may read them, and the
			// pipelines lepton's own listings feed are of containers.
			return run("lepton-container", nil, o.format, o.targets)
		}
	}
	kinds, reachable := lookupKinds(ctx, env, globals, o.targets)
	one := ""
	for i, k := range kinds {
		if i == 0 {
			one = k
		} else if k != one {
			one = ""
		}
	}
	if one != "" {
		return run(appletOfKind(one), nil, o.format, o.targets)
	}
	if !reachable {
		// Let container inspect say why containerd cannot be asked.
		return run("lepton-container", nil, o.format, o.targets)
	}
	format := o.format
	if format == "" {
		format = "{{json .}}"
	}
	var found []json.RawMessage
	var lines bytes.Buffer
	code := cli.ExitOK
	for i, t := range o.targets {
		if kinds[i] == "" {
			fmt.Fprintf(env.Stderr, "%s: No such object: %s\n", env.Name, t)
			code = 1
			continue
		}
		var out bytes.Buffer
		if c := run(appletOfKind(kinds[i]), &out, format, []string{t}); c != cli.ExitOK {
			code = c
		}
		if o.format != "" {
			lines.Write(out.Bytes())
			continue
		}
		for _, l := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
			if len(l) > 0 {
				found = append(found, json.RawMessage(l))
			}
		}
	}
	if o.format != "" {
		env.Stdout.Write(lines.Bytes())
		return code
	}
	if found == nil {
		found = []json.RawMessage{}
	}
	b, err := json.MarshalIndent(found, "", "    ")
	if err != nil {
		return cli.Report(env, err)
	}
	fmt.Fprintf(env.Stdout, "%s\n", b)
	return code
}
