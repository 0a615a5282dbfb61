package main

import (
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
			{Name: "status", Usage: "cluster id, controllers with raft state, brokers with leadership, partition health", Action: clusterStatus},
			{Name: "brokers", Usage: "every node with its roles, addresses and state", Action: clusterBrokers},
			keyringCommand(),
			clusterHealthCommand(),
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
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	h, err := cl.ClusterHealth(c.Context)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, struct {
			*wire.Cluster
			Health *wire.ClusterHealth `json:"health"`
		}{info, h})
	}
	return printStatus(c, info, h)
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
