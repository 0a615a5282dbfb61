package main

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func clusterCommand() *cli.Command {
	return &cli.Command{
		Name:        "cluster",
		Usage:       "show the cluster: controller, brokers",
		Description: "Without a subcommand, prints the status.",
		Action:      clusterStatus,
		Subcommands: []*cli.Command{
			{Name: "status", Usage: "cluster id, active controller, voters, broker count", Action: clusterStatus},
			{Name: "brokers", Usage: "every node with its roles, addresses and state", Action: clusterBrokers},
			keyringCommand(),
		},
	}
}

func fetchCluster(c *cli.Context) (*wire.Cluster, error) {
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Cluster(c.Context)
}

func clusterStatus(c *cli.Context) error {
	info, err := fetchCluster(c)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, info)
	}
	alive := 0
	for _, b := range info.Brokers {
		if b.State == wire.StateAlive {
			alive++
		}
	}
	controller := "none (no quorum)"
	if info.Controller.Leader >= 0 {
		controller = "node " + itoa(info.Controller.Leader)
		if info.Controller.LeaderAddr != "" {
			controller += " (" + info.Controller.LeaderAddr + ")"
		}
	}
	t := newTable(c.App.Writer)
	t.row("cluster id", info.ClusterID)
	t.row("controller", controller)
	t.row("voters", joinInts(info.Controller.Voters))
	t.row("nodes", fmt.Sprintf("%d (%d alive)", len(info.Brokers), alive))
	t.row("metadata version", fmt.Sprint(info.MetadataVersion))
	t.row("answered by", "node "+itoa(info.NodeID))
	return t.flush()
}

func clusterBrokers(c *cli.Context) error {
	info, err := fetchCluster(c)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, info.Brokers)
	}
	t := newTable(c.App.Writer, "ID", "ROLES", "HTTP", "RAFT", "SERF", "STATE")
	for _, b := range info.Brokers {
		state := b.State
		if b.Fenced {
			state += " (fenced)"
		}
		if b.ID == info.Controller.Leader {
			state += " *controller"
		}
		t.row(itoa(b.ID), strings.Join(b.Roles, ","), orDash(b.HTTPAddr), orDash(b.RaftAddr), orDash(b.SerfAddr), state)
	}
	return t.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
