package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lepton-project/lepton/common/text"
)

// Targets expands the targets of a command such as rm or inspect: a lone
// "-" stands for standard input, one target per line, either a bare name or
// ID or a JSON object as printed by lepton's own --format json (its Name,
// then ID, field is used). Blank lines are skipped.
func Targets(env *Env, args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a != "-" {
			out = append(out, a)
			continue
		}
		got, err := readTargets(env.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading targets from standard input: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

func readTargets(r io.Reader) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "{") {
			out = append(out, line)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		name := firstString(obj, "Name", "Names", "ID", "Id")
		if name == "" {
			return nil, fmt.Errorf("line %d: JSON object has no Name or ID field", n)
		}
		out = append(out, name)
	}
	return out, sc.Err()
}

func firstString(obj map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := obj[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// Quote is s as an error message may show it: plain text as it is,
// anything that could act on a terminal or blur where it ends Go-quoted
// (see text.Quote, the one copy of the rule).
func Quote(s string) string { return text.Quote(s) }
