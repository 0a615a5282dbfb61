package main

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func topicCommand() *cli.Command {
	configFlag := &cli.StringSliceFlag{Name: "config", Aliases: []string{"c"}, Usage: "topic setting `KEY=VALUE` (repeatable), e.g. retention.ms=86400000, durability=replicated"}
	partitionerFlag := &cli.StringFlag{Name: "partitioner", Usage: "auto (hash keyed records, round-robin the rest), hash, roundrobin, sticky (hash keyed records, keyless ones in runs of 64 KiB per partition) or wasm:NAME[@N]"}
	paramFlag := &cli.StringSliceFlag{Name: "partitioner-param", Usage: "parameter `KEY=VALUE` for a Wasm partitioner (repeatable)"}
	return &cli.Command{
		Name:  "topic",
		Usage: "create, list, describe, alter and delete topics",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a topic",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "partitions", Aliases: []string{"p"}, Value: 1, Usage: "number of partitions"},
					&cli.IntFlag{Name: "replication-factor", Aliases: []string{"r"}, Usage: "replicas per partition", DefaultText: "1 on one broker, else min(3, brokers)"},
					partitionerFlag, paramFlag, configFlag,
					&cli.BoolFlag{Name: "if-not-exists", Usage: "succeed without changes when the topic exists"},
				},
				Action: topicCreate,
			},
			{
				Name: "list", Aliases: []string{"ls"}, Usage: "list topics",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "internal", Usage: "include internal topics such as __consumer_offsets"},
					&cli.BoolFlag{Name: "sizes", Usage: "add each topic's size on disk (one replica per partition; one describe request per topic)"},
				},
				Action: topicList,
			},
			{Name: "describe", Usage: "show a topic's settings and partitions (leader, replicas, ISR, offsets)", ArgsUsage: "NAME", Action: topicDescribe},
			{
				Name:      "alter",
				Usage:     "change a topic's settings or partitioner",
				ArgsUsage: "NAME",
				Description: "An empty value (--config retention.ms=) resets a setting to its default.\n" +
					"--partitions N raises the partition count (it never decreases); records with a\n" +
					"key then hash to key mod N, so a key's new records may go to another partition\n" +
					"than its old ones.",
				Flags: []cli.Flag{configFlag, partitionerFlag, paramFlag,
					&cli.IntFlag{Name: "partitions", Aliases: []string{"p"}, Usage: "raise the partition count to `N` (never lowers it)"}},
				Action: topicAlter,
			},
			{
				Name: "delete", Usage: "delete a topic and its records", ArgsUsage: "NAME",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "if-exists", Usage: "succeed when there is no such topic"}},
				Action: topicDelete,
			},
		},
	}
}

func topicCreate(c *cli.Context) error {
	name, err := oneArg(c, "topic NAME")
	if err != nil {
		return err
	}
	cfg, err := parseKV("config", c.StringSlice("config"))
	if err != nil {
		return err
	}
	params, err := parseKV("partitioner-param", c.StringSlice("partitioner-param"))
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	t, err := cl.CreateTopic(c.Context, wire.CreateTopicRequest{
		Name:              name,
		Partitions:        int32(c.Int("partitions")),
		ReplicationFactor: int32(c.Int("replication-factor")),
		Partitioner:       c.String("partitioner"),
		PartitionerParams: params,
		Config:            cfg,
	})
	if errors.Is(err, client.ErrTopicExists) && c.Bool("if-not-exists") {
		if t, err = cl.DescribeTopic(c.Context, name); err != nil {
			return err
		}
		if wantJSON(c) {
			return printJSON(c.App.Writer, t)
		}
		fmt.Fprintf(c.App.Writer, "topic %s exists: %d partitions, replication factor %d, partitioner %s\n",
			t.Name, t.PartitionCount, t.ReplicationFactor, t.Partitioner)
		return nil
	}
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, t)
	}
	fmt.Fprintf(c.App.Writer, "created topic %s: %d partitions, replication factor %d, partitioner %s\n",
		t.Name, t.PartitionCount, t.ReplicationFactor, t.Partitioner)
	return nil
}

func topicList(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	all, err := cl.ListTopics(c.Context)
	if err != nil {
		return err
	}
	ts := all[:0:0]
	for _, tp := range all {
		if !tp.Internal || c.Bool("internal") {
			ts = append(ts, tp)
		}
	}
	if c.Bool("sizes") {
		sizes := topicSizes(c.Context, cl, ts)
		if wantJSON(c) {
			out := make([]topicWithSize, len(ts))
			for i := range ts {
				out[i] = topicWithSize{TopicSummary: ts[i], LogBytes: sizes[i]}
			}
			return printJSON(c.App.Writer, map[string]any{"topics": out})
		}
		t := newTable(c.App.Writer, "NAME", "PARTITIONS", "RF", "PARTITIONER", "SIZE")
		for i, tp := range ts {
			t.row(tp.Name, itoa(tp.Partitions), itoa(tp.ReplicationFactor), tp.Partitioner, humanBytes(sizes[i]))
		}
		return t.flush()
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, wire.TopicList{Topics: ts})
	}
	t := newTable(c.App.Writer, "NAME", "PARTITIONS", "RF", "PARTITIONER")
	for _, tp := range ts {
		t.row(tp.Name, itoa(tp.Partitions), itoa(tp.ReplicationFactor), tp.Partitioner)
	}
	return t.flush()
}

func topicDescribe(c *cli.Context) error {
	return describeOne(c, "topic NAME", (*client.Client).DescribeTopic, func(tp *wire.Topic) error {
		return printTopic(c, tp)
	})
}

func printTopic(c *cli.Context, tp *wire.Topic) error {
	w := c.App.Writer
	h := newTable(w)
	h.row("topic", tp.Name)
	h.row("partitions", itoa(tp.PartitionCount))
	h.row("replication factor", itoa(tp.ReplicationFactor))
	part := tp.Partitioner
	if len(tp.PartitionerParams) > 0 {
		part += " (" + kvString(tp.PartitionerParams) + ")"
	}
	h.row("partitioner", part)
	h.row("config", kvString(tp.Config))
	h.row("size", sizeText(topicBytes(tp))+" (one replica of each partition)")
	if err := h.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	moving := false
	for _, p := range tp.Partitions {
		moving = moving || len(p.AddingReplicas)+len(p.RemovingReplicas) > 0
	}
	cols := []string{"PARTITION", "LEADER", "REPLICAS", "ISR", "EPOCH", "LOG-START", "LOG-END", "HW", "SIZE", "STATE"}
	if moving {
		cols = append(cols, "ADDING", "REMOVING")
	}
	t := newTable(w, cols...)
	for _, p := range tp.Partitions {
		leader := itoa(p.Leader)
		if p.Leader < 0 {
			leader = "none"
		}
		state := p.State
		if len(p.Lost) > 0 {
			state += " (lost data: " + joinInts(p.Lost) + ")"
		}
		row := []string{itoa(p.Index), leader, joinInts(p.Replicas), joinInts(p.ISR), itoa(p.LeaderEpoch), itoa(p.LogStart), itoa(p.LogEnd), itoa(p.HighWatermark), humanBytes(p.LogBytes), state}
		if moving {
			row = append(row, joinInts(p.AddingReplicas), joinInts(p.RemovingReplicas))
		}
		t.row(row...)
	}
	return t.flush()
}

func topicAlter(c *cli.Context) error {
	name, err := oneArg(c, "topic NAME")
	if err != nil {
		return err
	}
	var req wire.AlterTopicRequest
	if req.Config, err = parseKV("config", c.StringSlice("config")); err != nil {
		return err
	}
	if req.PartitionerParams, err = parseKV("partitioner-param", c.StringSlice("partitioner-param")); err != nil {
		return err
	}
	if c.IsSet("partitioner") {
		p := c.String("partitioner")
		req.Partitioner = &p
	}
	if req.Config == nil && req.Partitioner == nil && req.PartitionerParams == nil && !c.IsSet("partitions") {
		return fmt.Errorf("topic alter: nothing to change: give --config, --partitioner, --partitioner-param or --partitions")
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	var before, tp *wire.Topic
	if req.Partitioner != nil || req.PartitionerParams != nil {
		before, _ = cl.DescribeTopic(c.Context, name) // only for the warning: an error shows in the alter
	}
	if c.IsSet("partitions") {
		if tp, err = alterPartitionCount(c, cl, name); err != nil {
			return err
		}
	}
	if req.Config != nil || req.Partitioner != nil || req.PartitionerParams != nil {
		if tp, err = cl.AlterTopic(c.Context, name, req); err != nil {
			return err
		}
	}
	fmt.Fprint(c.App.ErrWriter, keysMoveWarning(before, tp))
	if wantJSON(c) {
		return printJSON(c.App.Writer, tp)
	}
	fmt.Fprintf(c.App.Writer, "altered topic %s: %d partitions, partitioner %s, config %s\n", tp.Name, tp.PartitionCount, tp.Partitioner, kvString(tp.Config))
	return nil
}

func topicDelete(c *cli.Context) error {
	name, err := oneArg(c, "topic NAME")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.DeleteTopic(c.Context, name); err != nil {
		if !(errors.Is(err, client.ErrUnknownTopic) && c.Bool("if-exists")) {
			return err
		}
		if wantJSON(c) {
			return printJSON(c.App.Writer, map[string]string{"absent": name})
		}
		fmt.Fprintf(c.App.Writer, "topic %s does not exist: nothing deleted\n", name)
		return nil
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, map[string]string{"deleted": name})
	}
	fmt.Fprintf(c.App.Writer, "deleted topic %s\n", name)
	return nil
}
