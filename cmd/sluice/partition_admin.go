package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func partitionCommand() *cli.Command {
	return &cli.Command{
		Name:  "partition",
		Usage: "elect preferred leaders, reassign partition replicas, recover offline partitions",
		Subcommands: []*cli.Command{
			partitionRecoverCommand(),
			{
				Name:      "elect-leader",
				Usage:     "move leadership to each partition's preferred replica (its first) where it is in sync",
				ArgsUsage: "[TOPIC[/PARTITION]]",
				Description: "Without an argument every partition of every topic is considered. A partition\n" +
					"whose preferred replica is down or still catching up keeps its leader and is\n" +
					"listed with the reason.",
				Action: partitionElectLeader,
			},
			{
				Name:      "reassign",
				Usage:     "move partition replicas to other brokers, show or cancel moves in progress",
				ArgsUsage: "[TOPIC/PARTITION]",
				Description: "   sluice partition reassign orders/0 --replicas 3,1,2       move one partition\n" +
					"   sluice partition reassign --plan plan.json                 move many (a JSON plan)\n" +
					"   sluice partition reassign --generate --brokers 1,2,3 > plan.json   propose a balanced plan\n" +
					"   sluice partition reassign --status                         moves in progress\n" +
					"   sluice partition reassign orders/0 --cancel                cancel a move\n" +
					"   sluice partition reassign orders/0 --replicas 3,1,2 --throttle 10MiB   a throttled move\n" +
					"   sluice partition reassign --throttle 50MiB                 change the throttle of every move\n" +
					"   sluice partition reassign --remove-throttle                lift it\n\n" +
					"New replicas join as followers, copy the log, enter the ISR; then the move\n" +
					"completes: leadership leaves removed replicas and they are deleted. The first\n" +
					"replica becomes the preferred leader. A plan file is\n" +
					"{\"reassignments\":[{\"topic\":\"orders\",\"partition\":0,\"replicas\":[3,1,2]}]}.\n\n" +
					"A throttle limits only the copying of replicas being added that are not in\n" +
					"sync yet, per receiving broker; it ends with the move (completed or cancelled).",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "replicas", Usage: "target broker ids, comma-separated, preferred leader first"},
					&cli.StringFlag{Name: "plan", Usage: "reassign every partition of a JSON plan `FILE` (- for stdin)"},
					&cli.BoolFlag{Name: "generate", Usage: "print a balanced plan for --brokers (changes nothing)"},
					&cli.StringFlag{Name: "brokers", Usage: "with --generate: the broker ids to place replicas on"},
					&cli.StringSliceFlag{Name: "topic", Usage: "with --generate: only this topic (repeatable; default every topic)"},
					&cli.IntFlag{Name: "replication-factor", Usage: "with --generate: give every partition `N` replicas (default: each keeps its own)"},
					&cli.BoolFlag{Name: "status", Usage: "show reassignments in progress"},
					&cli.BoolFlag{Name: "cancel", Usage: "cancel the move of TOPIC/PARTITION, of every partition of --plan, or (alone) every move in progress"},
					&cli.BoolFlag{Name: "wait", Usage: "wait until the moves are complete, printing progress"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "with --wait: give up after `DURATION`"},
					&cli.StringFlag{Name: "throttle", Usage: throttleUsage + "; alone (or with TOPIC/PARTITION) it changes the throttle of moves in progress"},
					&cli.BoolFlag{Name: "remove-throttle", Usage: "lift the throttle of the moves in progress (or of TOPIC/PARTITION's)"},
				},
				Action: partitionReassign,
			},
		},
	}
}

// parseTopicPartition splits "TOPIC/P" (topic names never hold a slash);
// p is -1 for a bare topic.
func parseTopicPartition(s string) (topic string, p int32, err error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, -1, nil
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil || n < 0 || i == 0 {
		return "", 0, fmt.Errorf("%q: want TOPIC or TOPIC/PARTITION", s)
	}
	return s[:i], int32(n), nil
}

func parseIDs(flag, s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--%s %q: want broker ids such as 1,2,3", flag, s)
		}
		out = append(out, int32(n))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: no broker ids given", flag)
	}
	return out, nil
}

func partitionElectLeader(c *cli.Context) error {
	var req wire.ElectLeadersRequest
	switch c.NArg() {
	case 0:
	case 1:
		topic, p, err := parseTopicPartition(c.Args().First())
		if err != nil {
			return err
		}
		req.Topic = topic
		if p >= 0 {
			req.Partitions = []int32{p}
		}
	default:
		return fmt.Errorf("partition elect-leader: want at most one TOPIC[/PARTITION], got %d arguments", c.NArg())
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := cl.ElectLeaders(c.Context, req)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, res)
	}
	fmt.Fprintf(c.App.Writer, "elected %d preferred leaders; %d partitions still led by another replica\n", len(res.Elected), len(res.NotElected))
	if len(res.Elected)+len(res.NotElected) == 0 {
		return nil
	}
	t := newTable(c.App.Writer, "PARTITION", "LEADER", "PREFERRED", "RESULT")
	for _, p := range res.Elected {
		t.row(p.Topic+"/"+itoa(p.Partition), itoa(p.Leader), itoa(p.Preferred), "elected")
	}
	for _, p := range res.NotElected {
		t.row(p.Topic+"/"+itoa(p.Partition), itoa(p.Leader), itoa(p.Preferred), p.Reason)
	}
	return t.flush()
}

func partitionReassign(c *cli.Context) error {
	rate, remove, err := throttleOf(c)
	if err != nil {
		return err
	}
	if (rate > 0 || remove) && (c.Bool("generate") || c.Bool("status") || c.Bool("cancel")) {
		return fmt.Errorf("partition reassign: --throttle and --remove-throttle go with a move or alone, not with --generate, --status or --cancel")
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	switch {
	case throttleOnly(c):
		return reassignThrottle(c, cl, rate, remove)
	case c.Bool("generate"):
		if !c.IsSet("brokers") {
			return fmt.Errorf("partition reassign --generate: give --brokers 1,2,3")
		}
		brokers, err := parseIDs("brokers", c.String("brokers"))
		if err != nil {
			return err
		}
		plan, err := cl.GenerateReassignments(c.Context, wire.GeneratePlanRequest{Topics: c.StringSlice("topic"), Brokers: brokers,
			ReplicationFactor: int32(c.Int("replication-factor"))})
		if err != nil {
			return err
		}
		return printJSON(c.App.Writer, plan) // a plan file, whatever --output says
	case c.Bool("status"):
		list, err := cl.Reassignments(c.Context)
		if err != nil {
			return err
		}
		return printReassignments(c, list)
	}
	plan, err := reassignPlan(c)
	if err != nil {
		return err
	}
	if c.Bool("cancel") {
		for i := range plan.Reassignments {
			plan.Reassignments[i].Replicas, plan.Reassignments[i].Cancel = nil, true
		}
	}
	if len(plan.Reassignments) == 0 {
		fmt.Fprintln(c.App.Writer, "nothing to do: no reassignment in progress")
		return nil
	}
	applyThrottle(&plan, rate, remove)
	list, err := cl.Reassign(c.Context, plan)
	if err != nil {
		return err
	}
	if c.Bool("wait") && !c.Bool("cancel") {
		return waitReassignments(c, cl, list)
	}
	return printReassignments(c, list)
}

// reassignPlan builds the plan of the arguments: one partition and
// --replicas, a --plan file, or, for --cancel alone, every move in
// progress.
func reassignPlan(c *cli.Context) (wire.ReassignRequest, error) {
	var plan wire.ReassignRequest
	switch {
	case c.IsSet("plan"):
		if c.NArg() > 0 || c.IsSet("replicas") {
			return plan, fmt.Errorf("partition reassign: --plan takes no TOPIC/PARTITION and no --replicas")
		}
		path := c.String("plan")
		var raw []byte
		var err error
		if path == "-" {
			raw, err = io.ReadAll(c.App.Reader)
		} else {
			raw, err = os.ReadFile(path)
		}
		if err != nil {
			return plan, fmt.Errorf("read plan: %w", err)
		}
		if err := json.Unmarshal(raw, &plan); err != nil {
			return plan, fmt.Errorf("plan %s: %w (want {\"reassignments\":[{\"topic\":...,\"partition\":...,\"replicas\":[...]}]})", path, err)
		}
		return plan, nil
	case c.NArg() == 1:
		topic, p, err := parseTopicPartition(c.Args().First())
		if err != nil {
			return plan, err
		}
		if p < 0 {
			return plan, fmt.Errorf("partition reassign %s: name one partition as TOPIC/PARTITION", topic)
		}
		ra := wire.Reassignment{Topic: topic, Partition: p}
		if !c.Bool("cancel") {
			if !c.IsSet("replicas") {
				return plan, fmt.Errorf("partition reassign %s: give --replicas (or --cancel)", c.Args().First())
			}
			if ra.Replicas, err = parseIDs("replicas", c.String("replicas")); err != nil {
				return plan, err
			}
		}
		plan.Reassignments = []wire.Reassignment{ra}
		return plan, nil
	case c.NArg() == 0 && c.Bool("cancel"):
		cl, err := newClient(c)
		if err != nil {
			return plan, err
		}
		defer cl.Close()
		list, err := cl.Reassignments(c.Context)
		if err != nil {
			return plan, err
		}
		for _, r := range list.Reassignments {
			plan.Reassignments = append(plan.Reassignments, wire.Reassignment{Topic: r.Topic, Partition: r.Partition})
		}
		return plan, nil
	}
	return plan, fmt.Errorf("partition reassign: give TOPIC/PARTITION with --replicas, --plan FILE, --generate, --status or --cancel (see --help)")
}

// waitReassignments polls until none of list's partitions is moving.
func waitReassignments(c *cli.Context, cl *client.Client, list *wire.ReassignmentList) error {
	want := map[string]bool{}
	for _, r := range list.Reassignments {
		want[r.Topic+"/"+itoa(r.Partition)] = true
	}
	deadline := time.Now().Add(c.Duration("timeout"))
	const poll = 500 * time.Millisecond
	last := ""
	// On a terminal a bar counts the bytes copied; otherwise (logs,
	// scripts) lines are printed whenever the count of partitions moving
	// changes, and every 5 s, with the bytes left.
	var bar *byteBar
	if isTerminal(c.App.ErrWriter) {
		bar = startByteBar(c.App.ErrWriter, "copied")
		defer func() {
			if bar != nil { // an early return (timeout, error) aborts it
				bar.stop(false)
			}
		}()
	}
	bytes := newByteProgress()
	var lastAt time.Time
	for {
		cur, err := cl.Reassignments(c.Context)
		if err != nil {
			return err
		}
		var moving []wire.ReassignmentStatus
		for _, r := range cur.Reassignments {
			if want[r.Topic+"/"+itoa(r.Partition)] {
				moving = append(moving, r)
			}
		}
		if len(moving) == 0 && !settled(c, cl, list) {
			// The node asked may not have applied the reassignment yet
			// (its metadata trails the controller's): nothing moving in
			// its view is not the same as every move done.
			moving = list.Reassignments
		}
		if len(moving) == 0 {
			if bar != nil {
				bar.stop(true)
				bar = nil
			}
			fmt.Fprintf(c.App.ErrWriter, "reassignment complete: %d partitions moved\n", len(want))
			return nil
		}
		total := moveTotal(cur, want)
		if bar != nil {
			have, need := bytes.update(moving)
			bar.set(have, need, total)
		}
		line := fmt.Sprintf("%d of %d partitions still moving; %s", len(moving), len(want), behindSummary(moving))
		if n := leaderless(moving); n > 0 {
			line += fmt.Sprintf("; %d have no leader (every in-sync replica is down) and move only once one returns", n)
		}
		key := fmt.Sprintf("%d %d", len(moving), leaderless(moving))
		if bar == nil && (key != last || time.Since(lastAt) >= 5*time.Second) {
			fmt.Fprintf(c.App.ErrWriter, "%s; %s\n", line, progressText(total))
			printMoveLines(c.App.ErrWriter, moving)
			last, lastAt = key, time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("partition reassign: %d partitions still moving after %v (see --status)", len(moving), c.Duration("timeout"))
		}
		select {
		case <-c.Context.Done():
			return c.Context.Err()
		case <-time.After(poll):
		}
	}
}

// settled reports whether every partition of list has exactly its target
// replicas in the node's view.
func settled(c *cli.Context, cl *client.Client, list *wire.ReassignmentList) bool {
	topics := map[string]*wire.Topic{}
	for _, r := range list.Reassignments {
		tp, ok := topics[r.Topic]
		if !ok {
			var err error
			if tp, err = cl.DescribeTopic(c.Context, r.Topic); err != nil {
				return false
			}
			topics[r.Topic] = tp
		}
		if int(r.Partition) >= len(tp.Partitions) {
			return false
		}
		have := slices.Sorted(slices.Values(tp.Partitions[r.Partition].Replicas))
		if want := slices.Sorted(slices.Values(r.Target)); !slices.Equal(have, want) {
			return false
		}
	}
	return true
}

func leaderless(rs []wire.ReassignmentStatus) int {
	n := 0
	for _, r := range rs {
		if r.Leader < 0 {
			n++
		}
	}
	return n
}

func behindSummary(rs []wire.ReassignmentStatus) string {
	var total int64
	unknown := 0
	for _, r := range rs {
		if r.RecordsBehind < 0 {
			unknown++
			continue
		}
		total += r.RecordsBehind
	}
	s := fmt.Sprintf("%d records left to copy", total)
	if unknown > 0 {
		s += fmt.Sprintf(" (%d partitions without progress reported yet)", unknown)
	}
	return s
}

func printReassignments(c *cli.Context, list *wire.ReassignmentList) error {
	if wantJSON(c) {
		return printJSON(c.App.Writer, list)
	}
	moving := 0
	for _, r := range list.Reassignments {
		if len(r.Adding)+len(r.Removing) > 0 {
			moving++
		}
	}
	fmt.Fprintf(c.App.Writer, "%d partitions, %d moving", len(list.Reassignments), moving)
	if moving > 0 {
		fmt.Fprintf(c.App.Writer, "; %s", progressText(list.Total))
	}
	fmt.Fprintln(c.App.Writer)
	if len(list.Reassignments) == 0 {
		return nil
	}
	t := newTable(c.App.Writer, "PARTITION", "LEADER", "REPLICAS", "TARGET", "ADDING", "REMOVING", "ISR", "BEHIND", "BYTES LEFT", "RATE", "ETA", "THROTTLE")
	for _, r := range list.Reassignments {
		behind := "-"
		switch {
		case len(r.Adding) == 0 && len(r.Removing) == 0:
			behind = "done"
		case r.RecordsBehind >= 0:
			behind = itoa(r.RecordsBehind) + " records"
		case len(r.Adding) > 0:
			behind = "not fetched yet"
		}
		left, rate, eta := "-", "-", "-"
		if len(r.Adding) > 0 {
			left, rate, eta = humanBytes(r.Progress.BytesLeft), humanRate(r.Progress.Rate), humanETA(r.Progress.ETASeconds)
		}
		t.row(r.Topic+"/"+itoa(r.Partition), itoa(r.Leader), joinInts(r.Replicas), joinInts(r.Target), joinInts(r.Adding), joinInts(r.Removing), joinInts(r.ISR), behind,
			left, rate, eta, throttleText(r.Throttle))
	}
	return t.flush()
}

// alterPartitionCount is `topic alter --partitions N`: it refuses to
// lower the count before asking, and warns that keyed records change
// partition.
func alterPartitionCount(c *cli.Context, cl *client.Client, name string) (*wire.Topic, error) {
	n := c.Int("partitions")
	cur, err := cl.DescribeTopic(c.Context, name)
	if err != nil {
		return nil, err
	}
	switch {
	case n < int(cur.PartitionCount):
		return nil, fmt.Errorf("topic alter %s: --partitions %d is below its %d partitions: the count can only grow", name, n, cur.PartitionCount)
	case n == int(cur.PartitionCount):
		return cur, nil
	}
	fmt.Fprintf(c.App.ErrWriter, "warning: %s goes from %d to %d partitions: records with a key hash to a partition of the new count, so a key's new records may land in another partition than its earlier ones (per-key order across the change is not kept)\n",
		name, cur.PartitionCount, n)
	return cl.CreatePartitions(c.Context, name, int32(n))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
