package main

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// groupCommand is `sluice group`: consumer group administration over the
// /v1/groups endpoints.
func groupCommand() *cli.Command {
	return &cli.Command{
		Name:  "group",
		Usage: "list, describe, reset and delete consumer groups",
		Description: "Consumer groups are formed by WebSocket consumers (sluice consume TOPIC --group G,\n" +
			"a browser, the Go client). Committed offsets live in the internal topic\n" +
			"__consumer_offsets and survive restarts.",
		Subcommands: []*cli.Command{
			{Name: "list", Aliases: []string{"ls"}, Usage: "list groups with their state and member count", Action: groupList},
			{
				Name:      "describe",
				Usage:     "show a group's members, assignment, committed offsets, log ends and lag",
				ArgsUsage: "GROUP",
				Action:    groupDescribe,
			},
			{
				Name:      "reset-offsets",
				Usage:     "set a group's committed offsets in a topic (refused while the group has members)",
				ArgsUsage: "GROUP",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "topic", Aliases: []string{"t"}, Required: true, Usage: "the `TOPIC` whose offsets to reset"},
					&cli.StringFlag{Name: "to", Usage: "earliest, latest, an OFFSET (every partition) or @TIMESTAMP (ms)"},
					&cli.Int64Flag{Name: "shift-by", Usage: "instead of --to: move each committed offset by `N` (negative: back), clamped to the log"},
					&cli.IntSliceFlag{Name: "partition", Aliases: []string{"p"}, Usage: "reset only partition `P` (repeatable; default all)"},
					&cli.BoolFlag{Name: "dry-run", Usage: "print the offsets that would be committed and commit nothing"},
				},
				Action: groupResetOffsets,
			},
			{
				Name:      "delete",
				Usage:     "delete a group's committed offsets (refused while the group has members)",
				ArgsUsage: "GROUP",
				Action:    groupDelete,
			},
		},
	}
}

func groupList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("group list: unexpected arguments: %s", strings.Join(c.Args().Slice(), " "))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	gs, err := cl.ListGroups(c.Context)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, wire.GroupList{Groups: gs})
	}
	t := newTable(c.App.Writer, "GROUP", "STATE", "MEMBERS", "ASSIGNOR", "COORDINATOR")
	for _, g := range gs {
		assignor := g.Assignor
		if assignor == "" {
			assignor = "-"
		}
		t.row(g.Group, g.State, itoa(g.Members), assignor, itoa(g.Coordinator))
	}
	return t.flush()
}

func groupDescribe(c *cli.Context) error {
	return describeOne(c, "GROUP", (*client.Client).DescribeGroup, func(g *wire.Group) error {
		w := c.App.Writer
		assignor := g.Assignor
		if assignor == "" {
			assignor = "-"
		}
		fmt.Fprintf(w, "group %s: %s, generation %d, assignor %s, coordinator %d\n\n", g.Group, g.State, g.Generation, assignor, g.Coordinator)
		owner := map[string]string{} // "topic/partition" -> member id
		if len(g.Members) > 0 {
			t := newTable(w, "MEMBER", "CLIENT", "HOST", "ASSIGNMENT")
			for _, m := range g.Members {
				var as []string
				for _, tp := range m.Assignment {
					as = append(as, tp.Topic+":"+joinInts(tp.Partitions))
					for _, p := range tp.Partitions {
						owner[tp.Topic+"/"+itoa(p)] = m.ID
					}
				}
				t.row(m.ID, dash(m.ClientID), dash(m.Host), dash(strings.Join(as, " ")))
			}
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintln(w)
		} else {
			fmt.Fprintln(w, "no members")
			fmt.Fprintln(w)
		}
		t := newTable(w, "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "MEMBER")
		var total int64
		for _, o := range g.Offsets {
			committed := "-"
			if o.Committed >= 0 {
				committed = itoa(o.Committed)
			}
			total += o.Lag
			t.row(o.Topic, itoa(o.Partition), committed, itoa(o.LogEnd), itoa(o.Lag), dash(owner[o.Topic+"/"+itoa(o.Partition)]))
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "\ntotal lag %d\n", total)
		return nil
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupResetOffsets(c *cli.Context) error {
	name, err := oneArg(c, "GROUP")
	if err != nil {
		return err
	}
	req := wire.ResetOffsetsRequest{Topic: c.String("topic"), To: c.String("to"), DryRun: c.Bool("dry-run")}
	switch {
	case c.IsSet("shift-by") && c.IsSet("to"):
		return usagef("group reset-offsets: give --to or --shift-by, not both")
	case c.IsSet("shift-by"):
		n := c.Int64("shift-by")
		req.ShiftBy = &n
	case !c.IsSet("to"):
		return usagef("group reset-offsets: missing --to or --shift-by (see sluice group reset-offsets --help)")
	}
	for _, p := range c.IntSlice("partition") {
		req.Partitions = append(req.Partitions, int32(p))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	offs, err := cl.ResetGroupOffsets(c.Context, name, req)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, wire.ResetOffsetsResponse{Offsets: offs, DryRun: req.DryRun})
	}
	if req.DryRun {
		fmt.Fprintf(c.App.Writer, "dry run: group %s would commit (nothing was changed):\n", name)
	}
	t := newTable(c.App.Writer, "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG")
	for _, o := range offs {
		t.row(o.Topic, itoa(o.Partition), itoa(o.Committed), itoa(o.LogEnd), itoa(o.Lag))
	}
	return t.flush()
}

func groupDelete(c *cli.Context) error {
	name, err := oneArg(c, "GROUP")
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.DeleteGroup(c.Context, name); err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, map[string]string{"deleted": name})
	}
	fmt.Fprintf(c.App.Writer, "deleted group %s\n", name)
	return nil
}
