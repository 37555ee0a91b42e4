package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Quote is s as an error message may show it. A name or path the user gave
// (or piped in: "rm -" reads whatever comes) may hold terminal escapes,
// other control characters or invalid UTF-8 that would act on the reader's
// terminal, or spaces and quotes that blur where it ends; such a string is
// quoted Go style ("\x1b[31mweb"). Plain text stays as it is, so the usual
// message reads like docker's: no such container: web.
func Quote(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '"' || r == '\\' || unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
