package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

func controllerCommand() *cli.Command {
	return &cli.Command{
		Name:  "controller",
		Usage: "change the controller (raft) quorum",
		Subcommands: []*cli.Command{
			{
				Name: "add", ArgsUsage: "NODE-ID",
				Usage: "make an alive controller-role node a raft voter now",
				Description: "The active controller adds controller-role nodes by itself once their raft\n" +
					"has caught up; add does it on demand (a node still catching up stays a\n" +
					"non-voter until it has).",
				Action: func(c *cli.Context) error { return controllerChange(c, (*client.Client).AddController, "added") },
			},
			{
				Name: "remove", ArgsUsage: "NODE-ID",
				Usage: "take a dead controller out of the raft quorum",
				Description: "Refused for a node that is alive (stop it: a clean shutdown leaves the quorum\n" +
					"by itself), and when the alive voters left would be no majority.",
				Action: func(c *cli.Context) error { return controllerChange(c, (*client.Client).RemoveController, "removed") },
			},
		},
	}
}

func controllerChange(c *cli.Context, do func(*client.Client, context.Context, int32) error, done string) error {
	arg, err := oneArg(c, "NODE-ID")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(arg, 10, 32)
	if err != nil || id < 0 {
		return fmt.Errorf("%s: node id %q: want a non-negative integer", c.Command.FullName(), arg)
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := do(cl, c.Context, int32(id)); err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, map[string]any{done: id})
	}
	fmt.Fprintf(c.App.Writer, "%s controller %d\n", done, id)
	return nil
}
