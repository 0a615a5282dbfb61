package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// errUnhealthy makes `cluster health` exit 1 after it printed the report.
var errUnhealthy = errors.New("cluster is not healthy")

func clusterHealthCommand() *cli.Command {
	return &cli.Command{
		Name:  "health",
		Usage: "check partitions and the controller quorum; exit status 1 unless healthy",
		Description: "Healthy means: no partition offline (without a leader), none under-replicated\n" +
			"(ISR smaller than its replicas), an active controller and every raft voter\n" +
			"alive. The problems are printed one per line; --output json prints the report.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "watch", Usage: "check again every --interval until interrupted"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "with --watch: time between checks"},
		},
		Action: clusterHealth,
	}
}

func clusterHealth(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		h, err := cl.ClusterHealth(c.Context)
		if err == nil {
			err = printHealth(c, h)
		}
		if !c.Bool("watch") {
			return err
		}
		if err != nil && !errors.Is(err, errUnhealthy) {
			fmt.Fprintf(c.App.ErrWriter, "sluice: %v\n", err)
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(c.Duration("interval")):
		}
	}
}

func printHealth(c *cli.Context, h *wire.ClusterHealth) error {
	if wantJSON(c) {
		if err := printJSON(c.App.Writer, h); err != nil {
			return err
		}
	} else {
		stamp := ""
		if c.Bool("watch") {
			stamp = time.Now().Format(time.TimeOnly) + " "
		}
		if h.Healthy {
			fmt.Fprintf(c.App.Writer, "%shealthy: %d partitions, %d brokers, controller %d with %d voters\n",
				stamp, h.Partitions.Total, len(h.Brokers), h.Controller.Leader, len(h.Controller.Voters))
		} else {
			fmt.Fprintf(c.App.Writer, "%sNOT HEALTHY:\n", stamp)
			for _, p := range h.Problems {
				fmt.Fprintf(c.App.Writer, "  %s\n", p)
			}
		}
	}
	if !h.Healthy {
		return fmt.Errorf("%w: %s", errUnhealthy, strings.Join(h.Problems, "; "))
	}
	return nil
}

// printStatus is `cluster status`: the quorum with each controller's
// raft state, the brokers with state, epoch and leadership, and the
// partition counts.
func printStatus(c *cli.Context, info *wire.Cluster, h *wire.ClusterHealth) error {
	w := c.App.Writer
	controller := "none (no quorum)"
	if info.Controller.Leader >= 0 {
		controller = "node " + itoa(info.Controller.Leader)
		if info.Controller.LeaderAddr != "" {
			controller += " (" + info.Controller.LeaderAddr + ")"
		}
	}
	alive := 0
	for _, b := range info.Brokers {
		if b.State == wire.StateAlive {
			alive++
		}
	}
	t := newTable(w)
	t.row("cluster id", info.ClusterID)
	t.row("controller", controller)
	t.row("voters", joinInts(info.Controller.Voters))
	t.row("nodes", fmt.Sprintf("%d (%d alive)", len(info.Brokers), alive))
	t.row("metadata version", fmt.Sprint(info.MetadataVersion))
	t.row("answered by", "node "+itoa(info.NodeID))
	p := h.Partitions
	t.row("partitions", fmt.Sprintf("%d: %d offline, %d under-replicated, %d under min ISR, %d not led by their preferred replica, %d reassigning",
		p.Total, p.Offline, p.UnderReplicated, p.UnderMinISR, p.NotPreferredLeader, h.Reassigning))
	health := "healthy"
	if !h.Healthy {
		health = "NOT HEALTHY: " + strings.Join(h.Problems, "; ")
	}
	t.row("health", health)
	if err := t.flush(); err != nil {
		return err
	}
	if len(h.Controller.Voters) > 0 {
		fmt.Fprintln(w)
		ct := newTable(w, "CONTROLLER", "VOTER", "ALIVE", "RAFT", "TERM", "LAST-INDEX", "COMMIT", "APPLIED")
		for _, v := range h.Controller.Voters {
			ct.row(itoa(v.ID), fmt.Sprint(v.Voter), fmt.Sprint(v.Alive), v.State, fmt.Sprint(v.Term), fmt.Sprint(v.LastIndex), fmt.Sprint(v.CommitIndex), fmt.Sprint(v.AppliedIndex))
		}
		if err := ct.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	bt := newTable(w, "BROKER", "RACK", "STATE", "EPOCH", "REPLICAS", "LEADING", "PREFERRED", "NOT-LEADING")
	for _, b := range h.Brokers {
		state := b.State
		if b.Fenced {
			state += " (fenced)"
		}
		bt.row(itoa(b.ID), orDash(b.Rack), state, itoa(b.Epoch), itoa(b.Replicas), itoa(b.Leading), itoa(b.Preferred), itoa(b.NotLeading))
	}
	return bt.flush()
}
