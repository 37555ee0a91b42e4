package cli

import (
	"reflect"
	"strings"

	flags "github.com/jessevdk/go-flags"
)

// ParseArgs parses args with p after rewriting what go-flags reads
// otherwise than docker: a command's own -h (run's --hostname), and the
// "--rm=true", "-d=false" forms of boolean options, which go-flags refuses:
// "--opt=true" becomes "--opt" and "--opt=false" is dropped, so a false
// value means the option's default (every lepton boolean defaults to
// false). Only options before the first operand (an image, a container)
// are rewritten: what follows is the container's command.
func ParseArgs(p *flags.Parser, args []string) ([]string, error) {
	return p.ParseArgs(BoolValues(p, args))
}

// BoolValues is ParseArgs' rewriting of args, on its own.
func BoolValues(p *flags.Parser, args []string) []string {
	cmd := p.Command
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			o := cmd.FindOptionByLongName(name)
			if o != nil && isBool(o) && hasVal {
				if b, ok := boolValue(val); ok {
					if b {
						out = append(out, "--"+name)
					}
					continue
				}
			}
			out = append(out, arg)
			if o != nil && !isBool(o) && !o.OptionalArgument && !hasVal && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		case strings.HasPrefix(arg, "-h") && len(arg) >= 2 && shortIsNotHelp(cmd, 'h'):
			// go-flags adds its -h for help last, over a command's own
			// -h (run's --hostname): spell that one out long.
			long := "--" + cmd.FindOptionByShortName('h').LongName
			if len(arg) > 2 {
				out = append(out, long+"="+strings.TrimPrefix(arg[2:], "="))
			} else {
				out = append(out, long)
				if i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			// -d=false: one short boolean and a value.
			if len(arg) > 3 && arg[2] == '=' {
				if o := cmd.FindOptionByShortName(rune(arg[1])); o != nil && isBool(o) {
					if b, ok := boolValue(arg[3:]); ok {
						if b {
							out = append(out, arg[:2])
						}
						continue
					}
				}
			}
			out = append(out, arg)
			// In a cluster (-dit, -e KEY=V, -eKEY=V) an option with a
			// value takes the rest of the cluster, or the next argument.
			for j, c := range arg[1:] {
				o := cmd.FindOptionByShortName(c)
				if o == nil || isBool(o) {
					continue
				}
				if o.OptionalArgument {
					break
				}
				if j == len(arg)-2 && i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
				break
			}
		default:
			sub := cmd.Find(arg)
			if sub == nil {
				return append(out, args[i:]...)
			}
			cmd = sub
			out = append(out, arg)
		}
	}
	return out
}

func shortIsNotHelp(cmd *flags.Command, c rune) bool {
	o := cmd.FindOptionByShortName(c)
	return o != nil && o.LongName != "help"
}

func isBool(o *flags.Option) bool {
	t := o.Field().Type
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t.Kind() == reflect.Bool
}

func boolValue(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "1", "t", "yes":
		return true, true
	case "false", "0", "f", "no":
		return false, true
	}
	return false, false
}
