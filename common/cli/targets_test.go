package cli

import (
	"slices"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"web", "web"},
		{"localhost/busybox:latest", "localhost/busybox:latest"},
		{"/d/sub", "/d/sub"},
		{"ünïcode", "ünïcode"},
		{"", `""`},
		{"\x1b[31mweb", `"\x1b[31mweb"`},
		{"a\nb", `"a\nb"`},
		{"a b", `"a b"`},
		{`say "hi"`, `"say \"hi\""`},
		{`back\slash`, `"back\\slash"`},
		{"\xff\xfe", `"\xff\xfe"`},
		{"rtl\u202eexe", `"rtl\u202eexe"`},
		{"\u00a0nbsp", `"\u00a0nbsp"`},
	} {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestTargetsKeepBytes(t *testing.T) {
	// Targets hands on what it read untouched (quoting is for messages
	// only): a lookup must see the very bytes the user gave.
	env, _, _ := testEnv("\x1b[31mweb\n{\"Name\":\"\\u001b]0;x\\u0007\"}\n\n  db  \n")
	got, err := Targets(env, []string{"first", "-", "last"})
	want := []string{"first", "\x1b[31mweb", "\x1b]0;x\a", "db", "last"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Targets = %q, %v; want %q", got, err, want)
	}
}
