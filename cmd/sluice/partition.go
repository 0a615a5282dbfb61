package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// partitionRecoverCommand is `sluice partition recover` (see
// partitionCommand in partition_admin.go).
func partitionRecoverCommand() *cli.Command {
	return &cli.Command{
		Name:      "recover",
		Usage:     "bring an offline partition back by unclean recovery (may lose records)",
		ArgsUsage: "TOPIC/PARTITION | TOPIC",
		Description: "A partition whose in-sync replicas all lost their data (state offline_data_lost in\n" +
			"topic describe), or are all down (offline), has no leader. recover makes an alive replica\n" +
			"its leader and sole in-sync replica, preferring one that kept its data; records that only\n" +
			"the other replicas held are lost. TOPIC alone recovers every partition of the topic that\n" +
			"has no leader. The topic setting unclean.leader.election.enable=true does the same\n" +
			"automatically.",
		Action: partitionRecover,
	}
}

func partitionRecover(c *cli.Context) error {
	arg, err := oneArg(c, "TOPIC/PARTITION")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	var topic string
	var parts []int32
	if !strings.Contains(arg, "/") {
		// A whole topic: every partition without a leader.
		topic = arg
		tp, err := cl.DescribeTopic(c.Context, topic)
		if err != nil {
			return err
		}
		for _, p := range tp.Partitions {
			if p.Leader < 0 {
				parts = append(parts, p.Index)
			}
		}
		if len(parts) == 0 {
			return fmt.Errorf("topic %s: every partition has a leader; nothing to recover", topic)
		}
	} else {
		t, p, err := parseTopicPartition(arg)
		if err != nil {
			return err
		}
		topic, parts = t, []int32{p}
	}
	var last any
	for _, p := range parts {
		tp, err := cl.RecoverPartition(c.Context, topic, p)
		if err != nil {
			return err
		}
		last = tp
		if wantJSON(c) {
			continue
		}
		for _, part := range tp.Partitions {
			if part.Index == p {
				fmt.Fprintf(c.App.Writer, "recovered %s/%d: leader %d, isr %s (records only other replicas held are lost)\n",
					topic, p, part.Leader, joinInts(part.ISR))
			}
		}
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, last)
	}
	return nil
}
