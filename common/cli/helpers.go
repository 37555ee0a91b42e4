package cli

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/containerd/console"

	"github.com/lepton-project/lepton/common/text"
)

// Confirm asks the question docker's prune commands ask, on stderr, and
// reads the answer from stdin: only "y" or "yes" agrees. A refusal says how
// to skip the question.
func Confirm(env *Env, warning string) bool {
	fmt.Fprintf(env.Stderr, "WARNING! %s\nAre you sure you want to continue? [y/N] ", warning)
	var line string
	if env.Stdin != nil {
		line, _ = bufio.NewReader(env.Stdin).ReadString('\n')
	}
	if ans := strings.ToLower(strings.TrimSpace(line)); ans == "y" || ans == "yes" {
		return true
	}
	fmt.Fprintln(env.Stderr, "Nothing removed (use -f to skip this question).")
	return false
}

// MatchLabel reports whether labels satisfy a filter's "KEY" (present) or
// "KEY=VALUE" (present with that value).
func MatchLabel(labels map[string]string, expr string) bool {
	k, want, withValue := strings.Cut(expr, "=")
	got, ok := labels[k]
	return ok && (!withValue || got == want)
}

// HumanSize is a byte count as docker prints sizes: decimal units, three
// significant digits (1.15MB, 3kB, 0B).
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, names, i := float64(n), []string{"kB", "MB", "GB", "TB", "PB"}, -1
	for f >= unit && i < len(names)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.3g%s", f, names[i])
}

// ParseLabels reads --label KEY=VALUE flags (KEY alone means an empty
// value); nil when there are none.
func ParseLabels(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, Usagef("--label %q: the key is empty (want KEY=VALUE)", kv)
		}
		m[k] = v
	}
	return m, nil
}

// JoinLabels is docker's one-line form of labels: k1=v1,k2=v2, sorted.
func JoinLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

// IsHex says whether s is a non-empty run of lowercase hex digits: see
// text.IsHex.
func IsHex(s string) bool { return text.IsHex(s) }

// IsTerminal says whether stream, one of an Env's, is a terminal. A
// stream that is not an *os.File (a test's buffer) never is.
func IsTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	_, err := console.ConsoleFromFile(f)
	return err == nil
}

// ExpandEnv is docker's -e: KEY=VALUE as it is, a bare KEY with its value
// from env, and a bare KEY that env does not set left out.
func ExpandEnv(env *Env, kvs []string) []string {
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		if !strings.Contains(kv, "=") {
			v := env.Getenv(kv)
			if v == "" {
				continue // docker drops a name that is not set
			}
			kv += "=" + v
		}
		out = append(out, kv)
	}
	return out
}
