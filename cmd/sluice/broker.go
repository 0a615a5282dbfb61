package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func brokerCommand() *cli.Command {
	return &cli.Command{
		Name:  "broker",
		Usage: "decommission and remove brokers",
		Subcommands: []*cli.Command{
			{
				Name: "decommission", ArgsUsage: "NODE-ID",
				Usage: "move every replica off a broker, keeping replication factors and rack spread",
				Description: "Each partition with a replica on the broker gets another alive broker in its\n" +
					"place (a rack the partition lacks first, then the least loaded). Refused when\n" +
					"a partition would have no broker left to move to. When the moves are done,\n" +
					"stop the node and run `sluice broker remove NODE-ID`.",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "wait", Usage: "wait until every move is complete, printing progress"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "with --wait: give up after `DURATION`"},
					&cli.StringFlag{Name: "throttle", Usage: throttleUsage + "; change it later with `sluice partition reassign --throttle RATE`"},
				},
				Action: brokerDecommission,
			},
			{
				Name: "remove", ArgsUsage: "NODE-ID",
				Usage:       "unregister a stopped broker that holds no replicas",
				Description: "Refused while the broker runs or while any partition still lists it.",
				Action:      brokerRemove,
			},
		},
	}
}

func brokerID(c *cli.Context) (int32, error) {
	arg, err := oneArg(c, "NODE-ID")
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(arg, 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("%s: node id %q: want a non-negative integer", c.Command.FullName(), arg)
	}
	return int32(id), nil
}

func brokerDecommission(c *cli.Context) error {
	id, err := brokerID(c)
	if err != nil {
		return err
	}
	var req wire.DecommissionRequest
	if c.IsSet("throttle") {
		if req.Throttle, err = parseRate("throttle", c.String("throttle")); err != nil {
			return err
		}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	list, err := cl.DecommissionBrokerWith(c.Context, id, req)
	if err != nil {
		return err
	}
	if c.Bool("wait") {
		if err := waitReassignments(c, cl, list); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "broker %d holds no replicas now: stop it, then run `sluice broker remove %d`\n", id, id)
		return nil
	}
	return printReassignments(c, list)
}

func brokerRemove(c *cli.Context) error {
	id, err := brokerID(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.RemoveBroker(c.Context, id); err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, map[string]int32{"removed": id})
	}
	fmt.Fprintf(c.App.Writer, "removed broker %d\n", id)
	return nil
}
