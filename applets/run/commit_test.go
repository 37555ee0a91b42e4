//go:build !windows

package run

import (
	"context"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/lepton-project/lepton/common/cli"
)

// TestCommitPause checks every spelling of commit's default-true --pause,
// which lepton's rewriting of --opt=false for booleans must not touch.
func TestCommitPause(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"-p"}, true},
		{[]string{"--pause"}, true},
		{[]string{"--pause=true"}, true},
		{[]string{"--pause=false"}, false},
		{[]string{"-p=false"}, false},
		{[]string{"-pfalse"}, false},
		{[]string{"--pause=0"}, false},
	} {
		p := ContainerParser(context.Background(), &cli.Env{Name: "lepton-container"})
		p.CommandHandler = func(flags.Commander, []string) error { return nil } // parse only
		args := append(append([]string{"commit"}, tt.args...), "box")
		if _, err := p.ParseArgs(cli.BoolValues(p, args)); err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		v := p.Command.Find("commit").FindOptionByLongName("pause").Value().(string)
		got, err := pauseValue(v)
		if err != nil || got != tt.want {
			t.Errorf("%q: --pause %q = %v, %v; want %v", args, v, got, err, tt.want)
		}
	}
}
