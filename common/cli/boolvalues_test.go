package cli

import (
	"slices"
	"testing"

	flags "github.com/jessevdk/go-flags"
)

func TestBoolValues(t *testing.T) {
	var opts struct {
		Run struct {
			Rm       bool     `long:"rm"`
			Detach   bool     `short:"d" long:"detach"`
			TTY      bool     `short:"t" long:"tty"`
			Env      []string `short:"e" long:"env"`
			Hostname string   `short:"h" long:"hostname"`
			Proxy    string   `long:"sig-proxy" optional:"yes" optional-value:"true"`
		} `command:"run"`
	}
	p := flags.NewParser(&opts, flags.HelpFlag|flags.PassDoubleDash)
	for _, tt := range []struct{ in, want []string }{
		{[]string{"run", "--rm=true", "-d=false", "img"}, []string{"run", "--rm", "img"}},
		{[]string{"run", "-t=1", "--detach=no", "img", "--rm=true"}, []string{"run", "-t", "img", "--rm=true"}},
		{[]string{"run", "-e", "--rm=true", "img"}, []string{"run", "-e", "--rm=true", "img"}},
		{[]string{"run", "-de", "A=1", "--rm=false", "img"}, []string{"run", "-de", "A=1", "img"}},
		{[]string{"run", "-h", "web", "--rm=true", "img"}, []string{"run", "--hostname", "web", "--rm", "img"}},
		{[]string{"run", "-hweb", "img"}, []string{"run", "--hostname=web", "img"}},
		{[]string{"run", "--sig-proxy", "--rm=true", "img"}, []string{"run", "--sig-proxy", "--rm", "img"}},
		{[]string{"run", "--rm=maybe", "img"}, []string{"run", "--rm=maybe", "img"}},
		{[]string{"run", "--", "--rm=true"}, []string{"run", "--", "--rm=true"}},
	} {
		if got := BoolValues(p, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("BoolValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
