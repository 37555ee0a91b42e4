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

func TestIsHex(t *testing.T) {
	for s, want := range map[string]bool{"": false, "0af9": true, "0AF9": false, "sha256:ab": false, "abcg": false} {
		if got := IsHex(s); got != want {
			t.Errorf("IsHex(%q) = %v, want %v", s, got, want)
		}
	}
}
