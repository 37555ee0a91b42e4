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

	"github.com/lepton-project/lepton/applets/build"
	"github.com/lepton-project/lepton/applets/compose"
	"github.com/lepton-project/lepton/applets/image"
	pid1 "github.com/lepton-project/lepton/applets/init"
	"github.com/lepton-project/lepton/applets/network"
	"github.com/lepton-project/lepton/applets/run"
	"github.com/lepton-project/lepton/applets/system"
	"github.com/lepton-project/lepton/applets/volume"
	"github.com/lepton-project/lepton/common/cli"
)

func main() {
	os.Exit(dispatch(os.Args, &osEnv))
}

// applets maps every name lepton answers to as argv[0] to its entry point.
// Keep it sorted; install.sh links exactly these names (lepton --list-applets).
var applets = map[string]cli.Applet{
	"lepton-build":     {Main: build.Main, Parser: build.Parser},
	"lepton-compose":   {Main: compose.Main, Parser: compose.Parser},
	"lepton-container": {Main: run.ContainerMain, Parser: run.ContainerParser},
	"lepton-image":     {Main: image.Main, Parser: image.Parser},
	"lepton-init":      {Main: pid1.Main, Parser: pid1.Parser},
	"lepton-network":   {Main: network.Main, Parser: network.Parser},
	"lepton-run":       {Main: run.Main, Parser: run.Parser},
	"lepton-system":    {Main: system.Main, Parser: system.Parser},
	"lepton-volume":    {Main: volume.Main, Parser: volume.Parser},
}

// inContainer maps names lepton answers to as argv[0] only inside a
// container to their applets: run --init mounts lepton there as
// /sbin/docker-init, docker's path for its init. They are no links of
// install.sh's and not in --list-applets, so no host gets a docker-init.
var inContainer = map[string]string{
	"docker-init": "lepton-init",
}

// commands maps the first argument of "lepton <command>" (and of a docker
// symlink) to an applet and the arguments that go before the user's own.
// A two-word key ("image build") is docker's word for a command another
// applet serves, and wins over its first word.
var commands = map[string]struct {
	applet string
	prefix []string
}{
	"__init":      {"lepton-init", nil},                    // the init of run --init
	"__log":       {"lepton-container", []string{"__log"}}, // the shim's logging binary
	"attach":      {"lepton-container", []string{"attach"}},
	"build":       {"lepton-build", []string{"build"}},
	"builder":     {"lepton-build", nil},
	"commit":      {"lepton-container", []string{"commit"}},
	"compose":     {"lepton-compose", nil},
	"container":   {"lepton-container", nil},
	"cp":          {"lepton-container", []string{"cp"}},
	"create":      {"lepton-container", []string{"create"}},
	"diff":        {"lepton-container", []string{"diff"}},
	"events":      {"lepton-system", []string{"events"}},
	"exec":        {"lepton-container", []string{"exec"}},
	"export":      {"lepton-container", []string{"export"}},
	"history":     {"lepton-image", []string{"history"}},
	"image":       {"lepton-image", nil},
	"image build": {"lepton-build", []string{"build"}},
	"images":      {"lepton-image", []string{"ls"}},
	"import":      {"lepton-image", []string{"import"}},
	"info":        {"lepton-system", []string{"info"}},
	"inspect":     {"lepton-container", []string{"inspect"}},
	"kill":        {"lepton-container", []string{"kill"}},
	"load":        {"lepton-image", []string{"load"}},
	"login":       {"lepton-image", []string{"login"}},
	"logout":      {"lepton-image", []string{"logout"}},
	"logs":        {"lepton-container", []string{"logs"}},
	"network":     {"lepton-network", nil},
	"pause":       {"lepton-container", []string{"pause"}},
	"port":        {"lepton-container", []string{"port"}},
	"ps":          {"lepton-container", []string{"ps"}},
	"pull":        {"lepton-image", []string{"pull"}},
	"push":        {"lepton-image", []string{"push"}},
	"rename":      {"lepton-container", []string{"rename"}},
	"restart":     {"lepton-container", []string{"restart"}},
	"rm":          {"lepton-container", []string{"rm"}},
	"rmi":         {"lepton-image", []string{"rm"}},
	"run":         {"lepton-run", nil},
	"save":        {"lepton-image", []string{"save"}},
	"start":       {"lepton-container", []string{"start"}},
	"stats":       {"lepton-container", []string{"stats"}},
	"stop":        {"lepton-container", []string{"stop"}},
	"system":      {"lepton-system", nil},
	"tag":         {"lepton-image", []string{"tag"}},
	"top":         {"lepton-container", []string{"top"}},
	"unpause":     {"lepton-container", []string{"unpause"}},
	"update":      {"lepton-container", []string{"update"}},
	"volume":      {"lepton-volume", nil},
	"wait":        {"lepton-container", []string{"wait"}},
}
