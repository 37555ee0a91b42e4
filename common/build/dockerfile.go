package build

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is what lepton reads of a Dockerfile before it builds: its
// stages and the images they start from or copy from. Reading it first
// turns a syntax error or an unknown --target into an error that names the
// file and line, before any daemon is asked anything.
type Dockerfile struct {
	Stages []string // stage names ("" for an unnamed one), in order
	Images []string // images named by FROM and COPY --from, as written after ARG expansion
	// Syntax is the frontend image a "# syntax=" line asks for, "" if none.
	Syntax string
}

// ParseDockerfile reads the Dockerfile in src; name is what errors call
// it. args are the build arguments, which FROM lines may use.
func ParseDockerfile(name string, src []byte, args map[string]string) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	df := &Dockerfile{}
	if syntax, _, _, ok := parser.DetectSyntax(src); ok {
		df.Syntax = syntax
	}
	lex := shell.NewLex(res.EscapeToken)
	meta := map[string]string{}
	names := map[string]bool{}
	image := func(ref string) string {
		if ref == "" || strings.EqualFold(ref, "scratch") || names[strings.ToLower(ref)] {
			return ""
		}
		return ref
	}
	inStage := false
	for _, n := range res.AST.Children {
		cmd, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n.StartLine, err)
		}
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			if inStage {
				continue
			}
			for _, kv := range c.Args {
				v, given := args[kv.Key]
				if !given && kv.Value != nil {
					v, _, _ = lex.ProcessWord(*kv.Value, envOf(meta))
				}
				meta[kv.Key] = v
			}
		case *instructions.Stage:
			inStage = true
			base, _, err := lex.ProcessWord(c.BaseName, envOf(meta))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: FROM %s: %v", name, n.StartLine, c.BaseName, err)
			}
			if base == "" {
				return nil, fmt.Errorf("%s:%d: FROM %s names no image (is a build argument missing?)", name, n.StartLine, c.BaseName)
			}
			if ref := image(base); ref != "" {
				df.Images = appendNew(df.Images, ref)
			}
			df.Stages = append(df.Stages, c.Name)
			if c.Name != "" {
				names[strings.ToLower(c.Name)] = true
			}
		case *instructions.CopyCommand:
			// COPY --from names a stage, a stage's index or an image.
			if from := c.From; from != "" && !isIndex(from) && !strings.Contains(from, "$") {
				if ref := image(from); ref != "" {
					df.Images = appendNew(df.Images, ref)
				}
			}
		default:
			if !inStage {
				return nil, fmt.Errorf("%s:%d: %s before the first FROM (only ARG may come before it)", name, n.StartLine, strings.ToUpper(n.Value))
			}
		}
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM: a Dockerfile starts from an image (FROM scratch for none)", name)
	}
	return df, nil
}

// CheckTarget says whether the Dockerfile has a stage called target.
func (df *Dockerfile) CheckTarget(name, target string) error {
	if target == "" {
		return nil
	}
	var named []string
	for _, s := range df.Stages {
		if strings.EqualFold(s, target) {
			return nil
		}
		if s != "" {
			named = append(named, s)
		}
	}
	if len(named) == 0 {
		return fmt.Errorf("%s has no stage %q: it names no stages (FROM IMAGE AS NAME names one)", name, target)
	}
	return fmt.Errorf("%s has no stage %q; its stages are: %s", name, target, strings.Join(named, ", "))
}

func isIndex(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// envOf serves a map to buildkit's shell lexer.
type envOf map[string]string

func (e envOf) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envOf) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
