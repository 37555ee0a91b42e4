// Package text holds the wording rules every lepton message follows, for
// the packages that cannot import common/cli (which imports them).
package text

import (
	"strconv"
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
