//go:build !windows

package run

import (
	"context"
	"fmt"
	"strings"

	"github.com/lepton-project/lepton/common/cli"
	"github.com/lepton-project/lepton/common/containers"
)

type commitCmd struct {
	cli.Command
	Changes []string `short:"c" long:"change" value-name:"<INSTRUCTION>" description:"Apply a Dockerfile instruction to the image's configuration (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL); repeatable"`
	Message string   `short:"m" long:"message" value-name:"<MESSAGE>" description:"Comment of the image's new history entry"`
	Author  string   `short:"a" long:"author" value-name:"<AUTHOR>" description:"Author of the image (\"Name <email>\")"`
	// A string, not a bool: lepton's rewriting of --opt=false for bool
	// options drops it, which would leave this one at its default, true.
	Pause string `short:"p" long:"pause" value-name:"<BOOL>" optional:"yes" optional-value:"true" default:"true" description:"Pause a running container while its file system is read (--pause=false leaves it running)"`
	Args  struct {
		Container string `positional-arg-name:"<CONTAINER>" required:"yes" description:"Container name or ID"`
		Ref       string `positional-arg-name:"<IMAGE>" description:"Name of the new image, REPOSITORY[:TAG] (none: an untagged image)"`
	} `positional-args:"yes"`
}

// run makes an image of the container's file system and configuration
// and prints its ID, as docker commit does.
func (c *commitCmd) run(ctx context.Context, a *app, rest []string) error {
	if len(rest) > 0 {
		return cli.Usagef("commit takes a container and a name, not also %q", rest)
	}
	pause, err := pauseValue(c.Pause)
	if err != nil {
		return err
	}
	if err := containers.CheckChanges(c.Changes); err != nil {
		return cli.Usagef("%s", strings.TrimPrefix(err.Error(), "invalid argument: "))
	}
	cs, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer cs.Client().Close()
	info, err := cs.Resolve(ctx, c.Args.Container)
	if err != nil {
		return err
	}
	img, err := cs.Commit(ctx, info.ID, containers.CommitOptions{
		Ref: c.Args.Ref, Changes: c.Changes, Message: c.Message, Author: c.Author, Pause: pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.env.Stdout, img.Target.Digest)
	return nil
}

// pauseValue reads --pause, which takes docker's boolean spellings.
func pauseValue(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "1", "t", "yes":
		return true, nil
	case "false", "0", "f", "no":
		return false, nil
	}
	return false, cli.Usagef("bad --pause %q: want true or false", v)
}
