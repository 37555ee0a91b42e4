package cli

import (
	"bufio"
	"fmt"
	"strings"
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
