package text

import "testing"

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"web":        "web",
		"":           `""`,
		"a b":        `"a b"`,
		"\x1b[31mx":  `"\x1b[31mx"`,
		"bad\xffutf": `"bad\xffutf"`,
		`say"hi`:     `"say\"hi"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
