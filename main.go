// Command lepton is a multicall binary: the name it is invoked as picks the
// applet (lepton-volume, ...). Invoked as "lepton" or "docker", the first
// argument picks it instead, docker style: "lepton volume ls".
//
// To add an applet: write applets/<name> with a cli.Main, add it to applets
// below (and its docker-style words to commands); install.sh, the tests and
// completion pick it up from here.
package main

import (
	"os"

	"github.com/lepton-project/lepton/applets/volume"
	"github.com/lepton-project/lepton/common/cli"
)

func main() {
	os.Exit(run(os.Args, &osEnv))
}

// applets maps every name lepton answers to as argv[0] to its entry point.
// Keep it sorted; install.sh links exactly these names (lepton --list-applets).
var applets = map[string]cli.Applet{
	"lepton-volume": {Main: volume.Main, Parser: volume.Parser},
}

// commands maps the first argument of "lepton <command>" (and of a docker
// symlink) to an applet and the arguments that go before the user's own.
var commands = map[string]struct {
	applet string
	prefix []string
}{
	"volume": {"lepton-volume", nil},
}
