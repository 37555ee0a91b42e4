// Package text holds the rules for what users type and read: how messages
// quote names, and which strings are worth trying as ID prefixes. It is
// for the packages that cannot import common/cli (which imports them).
package text

import (
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// IsHex says whether s is a non-empty run of lowercase hex digits, as the
// IDs and digests users type are: only such a string is worth looking up
// as an ID prefix.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// LogTail is the last n lines of the file at path, for an error message
// about a daemon that would not start: what it said last is usually why.
// A file that cannot be read gives "".
func LogTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
